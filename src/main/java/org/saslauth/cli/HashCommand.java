package org.saslauth.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Step;
import org.saslauth.password.PasswordSchemes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code saslauth hash}: like {@code doveadm pw}, prints a hash for a passwd-file line. */
@Command(name = "hash", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {
            "Print the hash of a password for the passwd file.",
            "Reads a password (one line of stdin, or asked twice on a terminal) and prints",
            "its hash as the last line, ready to go after 'user:' in the passwd file."
        },
        footer = {"", ExitCodes.HELP})
final class HashCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = {"-s", "--scheme"}, paramLabel = "SCHEME", defaultValue = PasswordSchemes.DEFAULT,
            description = "Password scheme (default: ${DEFAULT-VALUE}), optionally with .B64 or .HEX:"
                + " ${COMPLETION-CANDIDATES}.", completionCandidates = HashableSchemes.class)
    String scheme;

    @Option(names = {"-r", "--rounds"}, paramLabel = "N",
            description = "Rounds or cost, for schemes that have one: SHA256-CRYPT and SHA512-CRYPT"
                + " rounds, BLF-CRYPT and CRYPT cost, PBKDF2 rounds, SCRAM iterations, ARGON2 passes.")
    Integer rounds;

    @Option(names = {"-u", "--user"}, paramLabel = "NAME",
            description = "The user name, which DIGEST-MD5 hashes in (user@realm).")
    String user;

    @Option(names = "--allow-empty",
            description = "Hash the empty password too (an empty line); without it that is refused,"
                + " since the hash would let anyone in with no password.")
    boolean allowEmpty;

    InputStream stdin = System.in;

    /** The scheme names for {@code --help}. */
    static final class HashableSchemes implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return PasswordSchemes.hashable().iterator();
        }
    }

    @Override
    public Integer call() throws IOException {
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        Logging.toTerminal("warn");
        byte[] password = PasswordInput.read(stdin, "Enter new password: ");
        byte[] again = null;
        try {
            if (password == null) {
                err.println("saslauth hash: no password given");
                return ExitCodes.USAGE;
            }
            if (password.length == 0 && !allowEmpty) {
                err.println("saslauth hash: empty password; give --allow-empty to hash it anyway");
                return ExitCodes.USAGE;
            }
            Optional<Step.Reason> refused = Credentials.refusal(password);
            if (password.length > 0 && refused.isPresent()) {
                err.println("saslauth hash: " + refused.get().logText() + ": no login could use it");
                return ExitCodes.USAGE;
            }
            if (PasswordInput.interactive(stdin)) {
                again = PasswordInput.read(stdin, "Retype new password: ");
                if (again == null || !Arrays.equals(password, again)) {
                    err.println("saslauth hash: passwords don't match");
                    return ExitCodes.USAGE;
                }
            }
            String hash;
            try {
                hash = PasswordSchemes.hash(scheme, password,
                        rounds == null ? OptionalInt.empty() : OptionalInt.of(rounds),
                        Optional.ofNullable(user));
            } catch (IllegalArgumentException e) {
                err.println("saslauth hash: " + e.getMessage());
                return ExitCodes.USAGE;
            }
            out.println(hash);
            out.flush();
            return ExitCodes.OK;
        } finally {
            if (password != null) {
                Arrays.fill(password, (byte) 0);
            }
            if (again != null) {
                Arrays.fill(again, (byte) 0);
            }
        }
    }
}
