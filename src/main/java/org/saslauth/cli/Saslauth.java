package org.saslauth.cli;

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
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.saslauth.Log;
import org.saslauth.mech.Credentials;
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
        ConfigFile.Contents config;
        try {
            config = ConfigFile.of(args);
        } catch (ConfigFile.Invalid e) {
            System.exit(refuse(args, e));
            return;
        }
        Optional<Options> plain = ServingArgs.parse(args, config);
        System.exit(plain.isEmpty() ? run(args, config) : serve(plain.get(), config.warnings()));
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
        try {
            return run(args, ConfigFile.of(args));
        } catch (ConfigFile.Invalid e) {
            return refuse(args, e);
        }
    }

    /**
     * A config file that cannot be used: exit status 3, with the reason on stderr, or under
     * spawn(8) in the log file that the command line or the file names.
     */
    static int refuse(String[] args, ConfigFile.Invalid e) {
        if (stdinIsSocket()) {
            StartupLog.error(args, e.raw(), "saslauth: " + e.getMessage());
        } else {
            System.err.println("saslauth: " + e.getMessage());
        }
        return ExitCodes.CONFIG;
    }

    /** {@link #run(String[])} with the config file that the arguments name, read already. */
    static int run(String[] args, ConfigFile.Contents config) {
        boolean underSpawn = stdinIsSocket();
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
        applyConfig(cl, config);
        int status = cl.execute(args);
        if (underSpawn && status != ExitCodes.OK && captured.getBuffer().length() > 0) {
            String[] lines = captured.toString().split("\n", 4);
            StartupLog.error(args, config.raw(), String.join(" / ", List.of(lines).subList(0, Math.min(3, lines.length))));
        }
        return status;
    }

    /** The config file's values as picocli's defaults, under the command line's. */
    static void applyConfig(CommandLine cl, ConfigFile.Contents contents) {
        ((Saslauth) cl.getCommand()).configWarnings = contents.warnings();
        ((DaemonCommand) cl.getSubcommands().get("daemon").getCommand()).configWarnings = contents.warnings();
        String mechanisms = contents.values().get(ServingOption.MECHANISMS);
        if (mechanisms != null) {
            ((TestCommand) cl.getSubcommands().get("test").getCommand()).servedMechanisms = mechanisms;
        }
        cl.setDefaultValueProvider(argSpec -> {
            if (argSpec instanceof OptionSpec o) {
                return ServingOption.named(o.longestName().substring(2)).map(contents.values()::get).orElse(null);
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
     * The store is closed once the input has ended and the last reply is out.
     */
    static int serve(Options options, List<String> configWarnings) {
        PrintStream terminal = System.err;
        boolean underSpawn = stdinIsSocket();
        OutputStream protocolOut = new FileOutputStream(FileDescriptor.out);
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        Config.Logs logs = Config.Logs.of(options);
        try {
            Logging.toFile(logs.file().orElse(null), logs.level());
        } catch (IOException e) {
            if (!underSpawn) {
                terminal.println("saslauth: cannot open log file " + logs.file().orElse(null) + ": " + e.getMessage());
            }
            return ExitCodes.CONFIG;
        }
        var log = Log.LOG;
        try {
            Config config;
            CredentialStore store;
            try {
                config = Config.of(options);
                store = startServing(config, configWarnings, 1, true);
            } catch (StartupError e) {
                log.error("cannot start: {}", e.getMessage());
                if (!underSpawn) {
                    terminal.println("saslauth: " + e.getMessage());
                }
                return ExitCodes.CONFIG;
            }
            InputStream in = new FileInputStream(FileDescriptor.in);
            try (store) {
                return new AuthServer(settings(config, store, CostlyChecks.perProcessor())).serve(in, protocolOut);
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
     * What every serving command does once its log is open and its configuration checked:
     * logs what the config file warned about, opens the store, and warns at any log level when
     * OREORE is on.
     *
     * @param poolSize connections a database or directory store keeps
     * @param failFast whether a server that cannot be reached at start is an error
     */
    static CredentialStore startServing(Config config, List<String> configWarnings, int poolSize, boolean failFast)
            throws StartupError {
        for (String warning : configWarnings) {
            Log.LOG.warn(warning);
        }
        CredentialStore store = config.store().open(poolSize, failFast);
        if (config.serving().mechanisms().contains("OREORE")) {
            Logging.warnAtAnyLevel("OREORE is enabled: any client can log in as any user name without a password");
        }
        Log.LOG.debug("serving {}", config.serving().mechanisms());
        return store;
    }

    /** The engine's settings: the configuration's, serving the users of {@code store}. */
    static Settings settings(Config config, CredentialStore store, CostlyChecks slots) {
        return config.serving().settings(new Credentials(store, config.store().names(), slots));
    }

    /** Whether standard input is a socket, as under spawn(8), rather than a terminal or pipe. */
    static boolean stdinIsSocket() {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/0")).toString().startsWith("socket:");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return true; // cannot tell: assume the strict case, stay silent
        }
    }
}
