package org.saslauth;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Mechanisms;
import org.saslauth.protocol.AuthServer;
import org.saslauth.store.CredentialStore;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The entry point. With no subcommand it serves Dovecot's auth protocol on stdin/stdout, as
 * Postfix's spawn(8) runs it; {@code hash} and {@code test} are tools for the administrator.
 */
@Command(name = "saslauth",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        sortOptions = false,
        description = {
            "SMTP AUTH for Postfix over the Dovecot SASL protocol, without Dovecot.",
            "With no command, serves the protocol on stdin/stdout until end of input,",
            "as Postfix's spawn(8) runs it. Options may also come from --config FILE,",
            "a properties file whose keys are the long option names (passwd-file=...)."
        },
        subcommands = {HashCommand.class, TestCommand.class},
        footer = {"", ExitCodes.HELP})
public final class Saslauth implements Callable<Integer> {

    @Mixin
    StoreOptions store = new StoreOptions();

    // Defaults are the fields' initial values, which picocli and ServingArgs both start from.

    @Option(names = "--mechanisms", paramLabel = "LIST",
            description = "Comma-separated mechanisms to offer: PLAIN, LOGIN, OREORE (default: ${DEFAULT-VALUE}).")
    String mechanisms = Mechanisms.DEFAULT;

    @Option(names = "--failure-delay", paramLabel = "DURATION", converter = Durations.class,
            description = "Delay before a FAIL reply, like Dovecot's auth_failure_delay; 0 for none, at most 5s (default: 2s).")
    Duration failureDelay = Duration.ofSeconds(2);

    @Option(names = "--max-pending", paramLabel = "N",
            description = "Unfinished exchanges kept per connection; the oldest is dropped beyond that (default: ${DEFAULT-VALUE}).")
    int maxPending = 32;

    @Option(names = "--max-auth-rate", paramLabel = "N",
            description = "AUTH requests a second allowed on one connection, 0 for no limit; beyond it they get FAIL (default: ${DEFAULT-VALUE}).")
    int maxAuthRate = 100;

    @Option(names = "--auth-penalty", arity = "1", paramLabel = "true|false",
            description = "Grow the failure delay for repeated failures from one client address, up to 5s in all (default: ${DEFAULT-VALUE}).")
    boolean authPenalty = true;

    @Option(names = "--log-file", paramLabel = "FILE",
            description = "Append log lines to FILE. Without it, logs are dropped: stdout and stderr belong to the protocol.")
    Path logFile;

    @Option(names = "--log-level", paramLabel = "LEVEL",
            description = "trace, debug, info, warn, error or off (default: ${DEFAULT-VALUE}).")
    String logLevel = "info";

    @Option(names = "--config", paramLabel = "FILE",
            description = "Read options from a properties file; options on the command line win.")
    Path config;

    public static void main(String[] args) {
        Saslauth serving = ServingArgs.parse(args);
        int status;
        if (serving == null) {
            status = run(args);
        } else {
            try {
                status = serving.call();
            } catch (RuntimeException e) {
                org.saslauth.protocol.Log.LOG.error("internal error", e);
                status = ExitCodes.SOFTWARE;
            }
        }
        System.exit(status);
    }

    /**
     * Runs a command line and returns its exit status. picocli's messages (usage errors, help)
     * go to stderr, except under spawn(8), where stderr is smtpd's socket: there the first lines
     * of an error go to the log file named by the command line or its config file, if any.
     */
    static int run(String[] args) {
        boolean underSpawn = StdinKind.isSocket();
        CommandLine cl = new CommandLine(new Saslauth());
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("saslauth: internal error: " + e);
            return ExitCodes.SOFTWARE;
        });
        java.io.StringWriter captured = new java.io.StringWriter();
        if (underSpawn) {
            cl.setErr(new java.io.PrintWriter(captured, true));
            cl.setOut(new java.io.PrintWriter(captured, true));
        }
        int status;
        try {
            ConfigFile.apply(cl, args);
            status = cl.execute(args);
        } catch (ConfigFile.Invalid e) {
            cl.getErr().println("saslauth: " + e.getMessage());
            status = ExitCodes.CONFIG;
        }
        if (underSpawn && status != ExitCodes.OK && captured.getBuffer().length() > 0) {
            StartupLog.error(args, captured.toString().lines().limit(3).collect(java.util.stream.Collectors.joining(" / ")));
        }
        return status;
    }

    @Override
    public Integer call() {
        // Under spawn(8), stdin, stdout and stderr are all the socket to smtpd. Keep the real
        // stdout for protocol lines; the error stream becomes the log.
        PrintStream terminal = System.err;
        boolean underSpawn = StdinKind.isSocket();
        if (!java.util.Arrays.asList(Logging.LEVELS).contains(logLevel)) {
            String message = "--log-level must be one of " + String.join(", ", Logging.LEVELS);
            if (underSpawn) {
                StartupLog.error(logFile, message);
            } else {
                terminal.println("saslauth: " + message);
            }
            return ExitCodes.USAGE;
        }
        OutputStream protocolOut = new FileOutputStream(FileDescriptor.out);
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        try {
            Logging.toFile(logFile, logLevel);
        } catch (IOException e) {
            if (!underSpawn) {
                terminal.println("saslauth: cannot open log file " + logFile + ": " + e.getMessage());
            }
            return ExitCodes.CONFIG;
        }
        var log = org.saslauth.protocol.Log.LOG;
        AuthServer.Settings settings;
        try {
            settings = settings();
        } catch (StartupError e) {
            log.error("cannot start: {}", e.getMessage());
            if (!underSpawn) {
                terminal.println("saslauth: " + e.getMessage());
            }
            return ExitCodes.CONFIG;
        }
        if (settings.mechanisms().contains("OREORE")) {
            Logging.warnAtAnyLevel("OREORE is enabled: any client can log in as any user name without a password");
        }
        log.debug("serving {}", settings.mechanisms());
        InputStream in = new FileInputStream(FileDescriptor.in);
        try {
            return new AuthServer(settings).serve(in, protocolOut);
        } catch (IOException e) {
            log.error("reading from the client failed: {}", e.toString());
            return ExitCodes.SOFTWARE;
        } finally {
            Logging.flush();
        }
    }

    static final class StartupError extends Exception {
        StartupError(String message) {
            super(message);
        }
    }

    AuthServer.Settings settings() throws StartupError {
        Mechanisms mechs;
        try {
            mechs = Mechanisms.parse(mechanisms);
        } catch (IllegalArgumentException e) {
            throw new StartupError("--mechanisms: " + e.getMessage());
        }
        if (failureDelay.compareTo(Duration.ofSeconds(5)) > 0) {
            throw new StartupError("--failure-delay must be at most 5s: Postfix gives up after 10s");
        }
        if (maxPending < 1) {
            throw new StartupError("--max-pending must be at least 1");
        }
        if (maxAuthRate < 0) {
            throw new StartupError("--max-auth-rate must not be negative");
        }
        CredentialStore credentialStore = CredentialStore.NONE;
        if (store.passwdFile != null) {
            credentialStore = store.open();
        } else if (mechs.anyNeedsCredentials()) {
            throw new StartupError("--passwd-file is required for " + mechs);
        }
        return new AuthServer.Settings(mechs, new Credentials(credentialStore, store.format()),
                failureDelay, maxPending, authPenalty, maxAuthRate);
    }

    /** Whether standard input is a socket, as under spawn(8), rather than a terminal or pipe. */
    static final class StdinKind {
        static boolean isSocket() {
            try {
                return Files.readSymbolicLink(Path.of("/proc/self/fd/0")).toString().startsWith("socket:");
            } catch (IOException | UnsupportedOperationException | SecurityException e) {
                return true; // cannot tell: assume the strict case, stay silent
            }
        }
    }

    /** {@code --config FILE}: option values from a properties file, under the command line's. */
    static final class ConfigFile {
        static final class Invalid extends Exception {
            Invalid(String message) {
                super(message);
            }
        }

        static void apply(CommandLine cl, String[] args) throws Invalid {
            Path path = null;
            for (int i = 0; i < args.length; i++) {
                if (args[i].equals("--config") && i + 1 < args.length) {
                    path = Path.of(args[i + 1]);
                } else if (args[i].startsWith("--config=")) {
                    path = Path.of(args[i].substring("--config=".length()));
                }
            }
            if (path == null) {
                return;
            }
            Properties props = read(path);
            for (String key : props.stringPropertyNames()) {
                if (!ServingArgs.isOption(key) || key.equals("config")) {
                    throw new Invalid("config file " + path + ": unknown key '" + key + "'");
                }
            }
            cl.setDefaultValueProvider(argSpec -> {
                if (argSpec instanceof CommandLine.Model.OptionSpec o) {
                    String value = props.getProperty(o.longestName().replaceFirst("^--", ""));
                    if (value != null) {
                        return value.strip();
                    }
                }
                return null; // the field's initial value
            });
        }

        static Properties read(Path path) throws Invalid {
            Properties props = new Properties();
            try (Reader r = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
                props.load(r);
            } catch (IOException | IllegalArgumentException e) { // IllegalArgumentException: a malformed unicode escape
                throw new Invalid("cannot read config file " + path + ": " + e.getMessage());
            }
            return props;
        }
    }
}
