package org.saslauth.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.saslauth.Deadline;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Step;
import org.saslauth.store.CredentialStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code saslauth test USER}: like {@code doveadm auth test}, one login against the store. */
@Command(name = "test", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {
            "Try one login against the passwd file, like doveadm auth test.",
            "Reads a password (one line of stdin, or asked on a terminal) and tries to log",
            "USER in against the same users and name rules the server would use.",
            "With no option, it reads the packaged config file,",
            "/etc/saslauth/saslauth.properties, when that file exists."
        },
        footer = {"", ExitCodes.HELP})
final class TestCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    /** Where picocli writes the table options that {@code test} takes (passwd file, name rules, config). */
    final Options options = Options.defaults(ServingOption.For.TEST);

    @Parameters(paramLabel = "USER", description = "The user name, as a client would send it.")
    String user;

    /** Options of {@code test} alone, not of the table: they do not stop the packaged config being read. */
    static final java.util.List<String> OWN_OPTIONS = java.util.List.of("--address", "--service");

    @picocli.CommandLine.Option(names = "--address", paramLabel = "IP",
            description = "The client's address, as Postfix would send it (rip=), for app passwords limited to"
                    + " networks and for PAM (default: none).")
    String address = "";

    @picocli.CommandLine.Option(names = "--service", paramLabel = "NAME",
            description = "The service, as the AUTH line names it, for app passwords limited to services"
                    + " (default: ${DEFAULT-VALUE}, as from Postfix).", defaultValue = "smtp")
    String service = "smtp";

    InputStream stdin = System.in;

    /**
     * The mechanisms a server reading the same config file would offer: {@code test} refuses
     * a passdb that server would refuse.
     */
    String servedMechanisms = ServingOption.MECHANISMS.defaultValue;

    @Override
    public Integer call() throws IOException {
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        Logging.toTerminal("warn");
        Config.Store store;
        CredentialStore credentialStore;
        try {
            store = Config.Store.of(options);
            if (!store.passdb().checksPasswords()) {
                throw new StartupError("--passwd-file is required");
            }
            Config.check(Config.Serving.mechanisms(servedMechanisms), store.passdb());
            credentialStore = store.open(1, true, false);
        } catch (StartupError e) {
            err.println("saslauth test: " + e.getMessage());
            return ExitCodes.CONFIG;
        }
        try (credentialStore) {
            return test(out, err, new Credentials(credentialStore, store.names()));
        }
    }

    private int test(java.io.PrintWriter out, java.io.PrintWriter err, Credentials credentials) throws IOException {
        if (user.indexOf('\uFFFD') >= 0 && !"UTF-8".equalsIgnoreCase(System.getProperty("sun.jnu.encoding"))) {
            err.println("saslauth test: the user name was not readable in this locale's charset ("
                    + System.getProperty("sun.jnu.encoding") + "); run it through the launcher, or with LC_ALL=C.UTF-8");
            return ExitCodes.USAGE;
        }
        Optional<String> name = credentials.canonical(user.getBytes(StandardCharsets.UTF_8));
        if (name.isEmpty()) {
            out.println("auth failed: invalid user name");
            return ExitCodes.LOGIN_REFUSED;
        }
        byte[] password = PasswordInput.read(stdin, "Password: ");
        if (password == null) {
            err.println("saslauth test: no password given");
            return ExitCodes.USAGE;
        }
        try {
            Optional<Step.Reason> refused = Credentials.refusal(password);
            if (refused.isPresent()) {
                out.println("auth failed: user=" + name.get() + " (" + refused.get().logText() + ")");
                return ExitCodes.LOGIN_REFUSED;
            }
            org.saslauth.store.Client.ADDRESS.set(address);
            org.saslauth.store.Client.SERVICE.set(service.toLowerCase(java.util.Locale.ROOT));
            CredentialStore.Checked checked;
            try {
                checked = credentials.authenticate(name.get(), password, Deadline.NONE); // nobody waits on a reply
            } finally {
                org.saslauth.store.Client.ADDRESS.remove();
                org.saslauth.store.Client.SERVICE.remove();
            }
            CredentialStore.Verdict verdict = checked.verdict();
            switch (verdict) {
                case ACCEPTED -> {
                    out.println("auth succeeded: user=" + checked.user());
                    return ExitCodes.OK;
                }
                case REFUSED -> {
                    out.println("auth failed: user=" + name.get() + " (refused: " + checked.detail().orElse("") + ")");
                    return ExitCodes.LOGIN_REFUSED;
                }
                case WRONG_PASSWORD, UNKNOWN_USER -> {
                    out.println("auth failed: user=" + name.get() + " ("
                            + (verdict == CredentialStore.Verdict.UNKNOWN_USER ? "unknown user" : "wrong password") + ")");
                    return ExitCodes.LOGIN_REFUSED;
                }
                default -> {
                    err.println("saslauth test: credential store unavailable");
                    return ExitCodes.CONFIG;
                }
            }
        } finally {
            Arrays.fill(password, (byte) 0);
        }
    }
}
