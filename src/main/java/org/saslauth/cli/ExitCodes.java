package org.saslauth.cli;

/** Every exit status of every command, as documented in README.md and {@code --help}. */
final class ExitCodes {

    /** Served until end of input; {@code test}: login accepted; {@code hash}: printed; {@code app-password}: done. */
    static final int OK = 0;
    /** {@code test}: the login was refused (wrong password or unknown user). */
    static final int LOGIN_REFUSED = 1;
    /** {@code check}: the configuration has errors, each printed. */
    static final int FINDINGS = 1;
    /** {@code app-password revoke}: the user has no app password of that name. */
    static final int NOT_FOUND = 1;
    /** A bad option or option value (picocli's usage error). */
    static final int USAGE = 2;
    /**
     * The configuration cannot be used (config file, passwd file, log file), for a command run
     * by hand, {@code test}, and the daemon's sockets; a helper serving Postfix and the daemon
     * never stop on the rest: they greet and fail every login as temporary.
     */
    static final int CONFIG = 3;
    /** Reading or writing failed, or an unexpected internal error. */
    static final int SOFTWARE = 5;

    static final String HELP = """
            Exit status:
              0   served until end of input; test: login accepted; hash: hash printed
              1   test: login refused (wrong password or unknown user); check: errors found; app-password revoke: none such
              2   bad option or option value; hash: empty password or a scheme it will not make
              3   unusable configuration, run by hand or by test (serving: logins fail as temporary)
              4   the client speaks an unsupported protocol version
              5   I/O or internal error""";

    private ExitCodes() {}
}
