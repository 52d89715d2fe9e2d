package org.saslauth.cli;

import static org.saslauth.cli.ServingOption.AUTH_PENALTY;
import static org.saslauth.cli.ServingOption.FAILURE_DELAY;
import static org.saslauth.cli.ServingOption.LOG_FILE;
import static org.saslauth.cli.ServingOption.LOG_LEVEL;
import static org.saslauth.cli.ServingOption.IPV6_PREFIX;
import static org.saslauth.cli.ServingOption.MAX_AUTH_RATE;
import static org.saslauth.cli.ServingOption.MAX_PENDING;
import static org.saslauth.cli.ServingOption.MECHANISMS;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import org.saslauth.Log;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Mechanisms;
import org.saslauth.password.CostlyChecks;
import org.saslauth.protocol.AuthServer;
import org.saslauth.protocol.Settings;
import org.saslauth.store.CredentialStore;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The entry point. With no subcommand it serves Dovecot's auth protocol on stdin/stdout, as
 * Postfix's spawn(8) runs it; {@code hash} and {@code test} are tools for the administrator.
 * The serving options are the {@link ServingOption} table.
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
        subcommands = {HashCommand.class, TestCommand.class, DaemonCommand.class},
        footer = {"", ExitCodes.HELP})
public final class Saslauth implements Callable<Integer> {

    /** Where picocli writes the serving options' values. */
    final Options options = Options.defaults(ServingOption.For.SERVE);

    /** What the config file warned about, logged once the log is open. */
    List<String> configWarnings = List.of();

    public static void main(String[] args) {
        Options plain = ServingArgs.parse(args);
        System.exit(plain == null ? run(args) : serve(plain, List.of()));
    }

    /** The whole command line as picocli sees it, every table option in place. */
    static CommandLine commandLine() {
        Saslauth root = new Saslauth();
        CommandLine cl = new CommandLine(root);
        OptionTable.addTo(cl.getCommandSpec(), root.options, ServingOption.For.SERVE);
        CommandLine test = cl.getSubcommands().get("test");
        OptionTable.addTo(test.getCommandSpec(), ((TestCommand) test.getCommand()).options, ServingOption.For.TEST);
        CommandLine daemon = cl.getSubcommands().get("daemon");
        OptionTable.addTo(daemon.getCommandSpec(), ((DaemonCommand) daemon.getCommand()).options,
                ServingOption.For.DAEMON);
        return cl;
    }

    /**
     * Runs a command line and returns its exit status. picocli's messages (usage errors, help)
     * go to stderr, except under spawn(8), where stderr is smtpd's socket: there the first lines
     * of an error go to the log file named by the command line or its config file, if any.
     */
    static int run(String[] args) {
        boolean underSpawn = StdinKind.isSocket();
        CommandLine cl = commandLine();
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("saslauth: internal error: " + e);
            return ExitCodes.SOFTWARE;
        });
        StringWriter captured = new StringWriter();
        if (underSpawn) {
            cl.setErr(new PrintWriter(captured, true));
            cl.setOut(new PrintWriter(captured, true));
        }
        int status;
        try {
            applyConfig(cl, args);
            status = cl.execute(args);
        } catch (ConfigFile.Invalid e) {
            cl.getErr().println("saslauth: " + e.getMessage());
            status = ExitCodes.CONFIG;
        }
        if (underSpawn && status != ExitCodes.OK && captured.getBuffer().length() > 0) {
            String[] lines = captured.toString().split("\n", 4);
            StartupLog.error(args, String.join(" / ", List.of(lines).subList(0, Math.min(3, lines.length))));
        }
        return status;
    }

    /** The config file's values as picocli's defaults, under the command line's. */
    private static void applyConfig(CommandLine cl, String[] args) throws ConfigFile.Invalid {
        String path = ServingArgs.find(args, ServingOption.CONFIG);
        if (path == null) {
            return;
        }
        ConfigFile.Contents contents = ConfigFile.read(Path.of(path));
        ((Saslauth) cl.getCommand()).configWarnings = contents.warnings();
        ((DaemonCommand) cl.getSubcommands().get("daemon").getCommand()).configWarnings = contents.warnings();
        cl.setDefaultValueProvider(argSpec -> {
            if (argSpec instanceof OptionSpec o) {
                return contents.values().get(ServingOption.named(o.longestName().substring(2)));
            }
            return null;
        });
    }

    @Override
    public Integer call() {
        return serve(options, configWarnings);
    }

    /**
     * Serves stdin/stdout. Under spawn(8), stdin, stdout and stderr are all the socket to
     * smtpd: the real stdout is kept for protocol lines and the error stream becomes the log.
     */
    static int serve(Options options, List<String> configWarnings) {
        PrintStream terminal = System.err;
        boolean underSpawn = StdinKind.isSocket();
        OutputStream protocolOut = new FileOutputStream(FileDescriptor.out);
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        Path logFile = options.path(LOG_FILE);
        try {
            Logging.toFile(logFile, options.string(LOG_LEVEL));
        } catch (IOException e) {
            if (!underSpawn) {
                terminal.println("saslauth: cannot open log file " + logFile + ": " + e.getMessage());
            }
            return ExitCodes.CONFIG;
        }
        var log = Log.LOG;
        try {
            Settings settings;
            try {
                settings = startServing(options, configWarnings, 1, true, CostlyChecks.perProcessor());
            } catch (StartupError e) {
                log.error("cannot start: {}", e.getMessage());
                if (!underSpawn) {
                    terminal.println("saslauth: " + e.getMessage());
                }
                return ExitCodes.CONFIG;
            }
            InputStream in = new FileInputStream(FileDescriptor.in);
            try {
                return new AuthServer(settings).serve(in, protocolOut);
            } catch (IOException e) {
                log.error("reading from the client failed: {}", e.toString());
                return ExitCodes.SOFTWARE;
            }
        } catch (RuntimeException e) {
            log.error("internal error", e);
            return ExitCodes.SOFTWARE;
        } finally {
            Logging.flush();
        }
    }

    /**
     * What every serving command does once its log is open: logs what the config file warned
     * about, opens the store, and warns at any log level when OREORE is on.
     */
    static Settings startServing(Options options, List<String> configWarnings, int poolSize, boolean failFast,
            CostlyChecks slots) throws StartupError {
        for (String warning : configWarnings) {
            Log.LOG.warn(warning);
        }
        Settings settings = settings(options, poolSize, failFast, slots);
        if (settings.mechanisms().contains("OREORE")) {
            Logging.warnAtAnyLevel("OREORE is enabled: any client can log in as any user name without a password");
        }
        Log.LOG.debug("serving {}", settings.mechanisms());
        return settings;
    }

    /**
     * @param poolSize connections a database or directory store keeps
     * @param failFast whether a server that cannot be reached at start is an error
     */
    static Settings settings(Options options, int poolSize, boolean failFast, CostlyChecks slots) throws StartupError {
        Mechanisms mechs;
        try {
            mechs = Mechanisms.parse(options.string(MECHANISMS));
        } catch (IllegalArgumentException e) {
            throw new StartupError("--mechanisms: " + e.getMessage());
        }
        Duration failureDelay = options.duration(FAILURE_DELAY);
        if (failureDelay.compareTo(Duration.ofSeconds(5)) > 0) {
            throw new StartupError("--failure-delay must be at most 5s: Postfix gives up after 10s");
        }
        if (options.count(MAX_PENDING) < 1) {
            throw new StartupError("--max-pending must be at least 1");
        }
        if (options.count(IPV6_PREFIX) < 1 || options.count(IPV6_PREFIX) > 128) {
            throw new StartupError("--ipv6-prefix must be between 1 and 128 (bits of an IPv6 address)");
        }
        CredentialStore credentialStore = CredentialStore.NONE;
        if (Stores.configured(options)) {
            credentialStore = Stores.open(options, poolSize, failFast);
        } else if (mechs.anyNeedsCredentials()) {
            throw new StartupError("--passwd-file or --passdb is required for " + mechs);
        }
        return new Settings(mechs, new Credentials(credentialStore, Stores.format(options), slots),
                failureDelay, options.count(MAX_PENDING), options.bool(AUTH_PENALTY), options.count(MAX_AUTH_RATE),
                options.count(IPV6_PREFIX));
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
}
