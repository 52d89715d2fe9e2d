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
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.saslauth.Log;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Mechanism;
import org.saslauth.mech.Mechanisms;
import org.saslauth.password.CostlyChecks;
import org.saslauth.protocol.AuthServer;
import org.saslauth.protocol.Settings;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.UserNameFormat;
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
        subcommands = {HashCommand.class, TestCommand.class, CheckCommand.class, DaemonCommand.class,
            PenaltyCommand.class, AppPasswordCommand.class},
        footer = {"", ExitCodes.HELP})
public final class Saslauth implements Callable<Integer> {

    /** Where picocli writes the serving options' values. */
    final Options options = Options.defaults(ServingOption.For.SERVE);

    /** The config file: its values are picocli's defaults, its warnings and problems logged once the log is open. */
    ConfigFile.Contents config = ConfigFile.Contents.NONE;

    /** The command line, for where each value came from. */
    String[] args = new String[0];

    public static void main(String[] args) {
        System.exit(start(args));
    }

    /**
     * Reads the config file and runs the command line. A helper serving Postfix (stdin a socket
     * or a pipe, no command) never exits on a configuration it cannot use: it greets and fails
     * every login as temporary ({@link #serve}); elsewhere a config file that cannot be used is
     * exit status 3.
     */
    static int start(String[] args) {
        String command = command(args);
        boolean degrades = command.isEmpty() && stdinIsSocketOrPipe();
        if (command.equals("check") || command.equals("penalty") || command.equals("app-password")) {
            return run(args, ConfigFile.Contents.NONE); // they read the config file themselves
        }
        if (command.equals("test")) {
            args = withPackagedConfig(args);
        }
        ConfigFile.Contents config;
        try {
            config = ConfigFile.of(args);
        } catch (ConfigFile.Invalid e) {
            if (degrades) {
                return serve(fallback(args, e.raw()), List.of(), List.of(e.getMessage()));
            }
            return refuse(args, e);
        }
        if (!config.problems().isEmpty() && !degrades && !command.equals("daemon")) {
            return refuse(args, new ConfigFile.Invalid(String.join("\n", config.problems()), config.raw()));
        }
        Optional<Options> plain = ServingArgs.parse(args, config);
        return plain.isEmpty() ? run(args, config)
                : serve(plain.get().from(config, args), config.warnings(), config.problems());
    }

    /**
     * {@code saslauth test USER} with no option of the table tries the login as the packaged
     * helper would: {@code --config} {@link ConfigFile#PACKAGED} is added when that file exists.
     */
    static String[] withPackagedConfig(String[] args) {
        int at = commandIndex(args);
        for (String arg : args) {
            if (arg.startsWith("--") && !arg.equals("--")
                    && !TestCommand.OWN_OPTIONS.contains(arg.split("=", 2)[0])) {
                return args; // an option of the table before the command or after it: as given
            }
        }
        if (at < 0 || !Files.exists(ConfigFile.PACKAGED)) {
            return args;
        }
        List<String> with = new java.util.ArrayList<>(List.of(args));
        with.addAll(at + 1, List.of("--" + ServingOption.CONFIG.longName, ConfigFile.PACKAGED.toString()));
        return with.toArray(String[]::new);
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
        return start(args);
    }

    /**
     * A config file that cannot be used: exit status 3, with the reason on stderr, or under
     * spawn(8) in the log file that the command line or the file names.
     */
    static int refuse(String[] args, ConfigFile.Invalid e) {
        if (stdinIsSocket()) {
            StartupLog.error(args, e.raw(), e.getMessage());
        } else {
            for (String line : e.getMessage().split("\n")) {
                System.err.println("saslauth: " + line);
            }
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
        cl.setParameterExceptionHandler((e, words) -> {
            if (e.getCommandLine() == cl && degrades(args)) {
                return serve(fallback(args, config.raw()), config.warnings(), List.of(usageError(e)));
            }
            PrintWriter err = e.getCommandLine().getErr();
            err.println("saslauth: " + usageError(e));
            err.println("Run '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help' for the options.");
            return ExitCodes.USAGE;
        });
        applyConfig(cl, config);
        ((Saslauth) cl.getCommand()).args = args;
        ((DaemonCommand) cl.getSubcommands().get("daemon").getCommand()).args = args;
        int status = cl.execute(args);
        if (underSpawn && status != ExitCodes.OK && captured.getBuffer().length() > 0) {
            StartupLog.error(args, config.raw(), firstLines(captured.toString()));
        }
        return status;
    }

    /**
     * The first three non-blank lines of picocli's output, joined into one log line: blank
     * lines and a trailing separator would only hide where the message ends.
     */
    static String firstLines(String text) {
        List<String> lines = new java.util.ArrayList<>();
        for (String line : text.split("\n")) {
            if (!line.isBlank() && lines.size() < 3) {
                lines.add(line.strip());
            }
        }
        return String.join(" / ", lines);
    }

    /**
     * A usage error in one line: picocli's message, and for an unknown option the nearest
     * known one, {@code _} read as {@code -}; never the whole usage, which {@code --help} shows.
     */
    static String usageError(CommandLine.ParameterException e) {
        String message = e.getMessage().strip().replace('\n', ' ');
        if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
            String word = u.getUnmatched().get(0);
            if (word.startsWith("--")) {
                String name = word.substring(2).split("=", 2)[0];
                List<String> names = new java.util.ArrayList<>();
                for (OptionSpec o : e.getCommandLine().getCommandSpec().options()) {
                    if (o.longestName().startsWith("--")) {
                        names.add(o.longestName().substring(2));
                    }
                }
                message += Nearest.of(name, names).map(n -> " (did you mean '--" + n + "'?)").orElse("");
            }
        }
        return message;
    }

    /**
     * Whether this command line is a helper serving Postfix, which must greet whatever is wrong:
     * no command, and stdin a socket (spawn(8)) or a pipe. On a terminal, or with stdin a file,
     * an administrator is trying it, and gets the error and its exit status.
     */
    static boolean degrades(String[] args) {
        return command(args).isEmpty() && stdinIsSocketOrPipe();
    }

    /**
     * The command the arguments name ({@code test}, {@code hash}, {@code daemon}), {@code help}
     * for {@code --help} or {@code --version}, or empty for serving.
     */
    static String command(String[] args) {
        int at = commandIndex(args);
        return at == -2 ? "help" : at < 0 ? "" : args[at];
    }

    /**
     * Where the command is in {@code args}: its index, -1 for none (serving), -2 for
     * {@code --help} or {@code --version}. Option values are passed over, so that a value that
     * spells a command ({@code --passwd-file test}) is not taken for one.
     */
    static int commandIndex(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("-h") || arg.equals("--help") || arg.equals("-V") || arg.equals("--version")) {
                return -2;
            }
            if (arg.equals("test") || arg.equals("hash") || arg.equals("daemon") || arg.equals("check")
                    || arg.equals("penalty") || arg.equals("app-password") || arg.equals("help")) {
                return i;
            }
            if (arg.startsWith("--") && arg.indexOf('=') < 0 && ServingOption.named(arg.substring(2)).isPresent()) {
                i++; // its value
            }
        }
        return -1;
    }

    /**
     * The options of a helper whose command line or config file cannot be used: the defaults,
     * with the log file, log level and mechanisms found leniently, so that the reason reaches
     * the log and the handshake offers what was meant where it can.
     */
    static Options fallback(String[] args, java.util.Map<String, String> raw) {
        Options o = Options.defaults(ServingOption.For.SERVE);
        StartupLog.logFile(args, raw).ifPresent(file -> o.set(ServingOption.LOG_FILE, file));
        for (ServingOption option : List.of(ServingOption.LOG_LEVEL, ServingOption.MECHANISMS,
                ServingOption.SYSLOG_FACILITY, ServingOption.SYSLOG_SOCKET)) {
            ServingArgs.find(args, option, raw).ifPresent(value -> {
                try {
                    o.set(option, option.type.convert(value));
                } catch (ServingOption.BadValue e) {
                    // the default, then
                }
            });
        }
        return o;
    }

    /** The config file's values as picocli's defaults, under the command line's. */
    static void applyConfig(CommandLine cl, ConfigFile.Contents contents) {
        ((Saslauth) cl.getCommand()).config = contents;
        ((DaemonCommand) cl.getSubcommands().get("daemon").getCommand()).config = contents;
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
        return serve(options.from(config, args), config.warnings(), config.problems());
    }

    /**
     * Serves stdin/stdout. Under spawn(8), stdin, stdout and stderr are all the socket to
     * smtpd: the real stdout is kept for protocol lines and the error stream becomes the log.
     * The store is closed once the input has ended and the last reply is out.
     *
     * @param problems what makes the configuration unusable, already known (the config file's
     *     lines): served as temporary failures, see {@link #startServing}
     */
    static int serve(Options options, List<String> configWarnings, List<String> problems) {
        PrintStream terminal = System.err;
        boolean underSpawn = stdinIsSocket();
        OutputStream protocolOut = new FileOutputStream(FileDescriptor.out);
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        Config.Logs logs = Config.Logs.of(options);
        boolean degrade = stdinIsSocketOrPipe();
        try {
            logs.open();
        } catch (IOException e) {
            String problem = "cannot open log file " + logs.file().orElse(null) + ": " + e.getMessage();
            if (!degrade) {
                terminal.println("saslauth: " + problem);
                return ExitCodes.CONFIG;
            }
            // A helper serving Postfix greets all the same: without a log, fail2ban would see
            // no failure, so every login is a temporary failure until the file can be opened.
            try {
                // syslog, if set, is then the one place that says why
                Logging.toFile(null, logs.level(), logs.syslogFacility().orElse(null), logs.syslogSocket());
            } catch (IOException impossible) {
                throw new java.io.UncheckedIOException(impossible);
            }
            problems = new ArrayList<>(problems);
            problems.add(problem);
        }
        Logging.makeLoggerBeside();
        try {
            Served served;
            try {
                served = startServing(options, configWarnings, problems, 1, degrade);
            } catch (StartupError e) {
                Log.LOG.error("cannot start: {}", e.getMessage());
                terminal.println("saslauth: " + e.getMessage());
                return ExitCodes.CONFIG;
            }
            InputStream in = new FileInputStream(FileDescriptor.in);
            try (CredentialStore store = served.store()) {
                return new AuthServer(served.settings(CostlyChecks.perProcessor())).serve(in, protocolOut,
                        Logging.WARM_CLOCK);
            } catch (IOException e) {
                Log.LOG.error("reading from the client failed: {}", e.toString());
                return ExitCodes.SOFTWARE;
            }
        } catch (RuntimeException e) {
            Log.LOG.error("internal error", e);
            return ExitCodes.SOFTWARE;
        } finally {
            Logging.flush();
        }
    }

    /** What a serving command serves: the engine's options, the store, the name rules. */
    record Served(Config.Serving serving, CredentialStore store, UserNameFormat names) {
        /** The engine's settings, serving the users of the store. */
        Settings settings(CostlyChecks slots) {
            return serving.settings(new Credentials(store, names, slots));
        }
    }

    /**
     * What every serving command does once its log is open: logs what the config file warned
     * about, checks the configuration, opens the store, and warns at any log level when OREORE
     * is on. A serving command never stops on its configuration, since Postfix would refuse
     * every SMTP session while it restarted it: a mechanism that cannot be served is left out,
     * and a configuration or passdb that cannot be used at all is served with every login a
     * temporary failure, its reason logged once at error level. A database or directory that
     * cannot be reached at start is not such a reason: each login tries it again.
     *
     * @param problems what is already known to make the configuration unusable
     * @param poolSize connections a database or directory store keeps
     * @param degrade whether to serve a configuration that cannot be used; without, it is a
     *     {@link StartupError}, for an administrator trying a helper on a terminal
     */
    static Served startServing(Options options, List<String> configWarnings, List<String> problems, int poolSize,
            boolean degrade) throws StartupError {
        for (String warning : configWarnings) {
            Log.LOG.warn(warning);
        }
        List<String> reasons = new ArrayList<>(problems);
        if (reasons.isEmpty()) {
            List<String> left = new ArrayList<>();
            try {
                Config config = Config.forServing(options, left);
                if (!degrade && !left.isEmpty()) {
                    throw new StartupError(String.join("; ", left));
                }
                for (String problem : left) {
                    Log.LOG.error(problem);
                }
                CredentialStore store = config.store().open(poolSize, false, degrade);
                if (config.serving().mechanisms().contains("OREORE")) {
                    Logging.warnAtAnyLevel("OREORE is enabled: any client can log in as any user name without a password");
                }
                Log.LOG.debug("serving {}", config.serving().mechanisms());
                return new Served(config.serving(), store, config.store().names());
            } catch (StartupError e) {
                reasons.add(e.getMessage());
            }
        }
        if (!degrade) {
            throw new StartupError(String.join("; ", reasons));
        }
        for (String reason : reasons) {
            Log.LOG.error("{}; every login gets a temporary failure until this is fixed", reason);
        }
        List<String> mechanismProblems = new ArrayList<>();
        Config.Serving serving = degradedServing(options, mechanismProblems);
        for (String problem : mechanismProblems) {
            Log.LOG.error(problem);
        }
        Log.LOG.debug("serving {} with every login a temporary failure", serving.mechanisms());
        return new Served(serving, new UnusableStore(), new UserNameFormat(false, Optional.empty()));
    }

    /**
     * The engine's options of a configuration that cannot be used: its own where they can be
     * read, else the defaults; only mechanisms that ask for a password, so that nothing is
     * ever an OK (OREORE would be).
     */
    private static Config.Serving degradedServing(Options options, List<String> problems) {
        Mechanisms known = Config.Serving.known(options, problems);
        List<String> names = new ArrayList<>();
        for (Mechanism m : known.enabled()) {
            if (m.needsCredentials()) {
                names.add(m.name());
            }
        }
        Mechanisms mechanisms = Mechanisms.parse(names.isEmpty() ? Mechanisms.DEFAULT : String.join(",", names));
        try {
            return Config.Serving.degraded(options, mechanisms);
        } catch (StartupError e) {
            try {
                return Config.Serving.degraded(Options.defaults(ServingOption.For.SERVE), mechanisms);
            } catch (StartupError impossible) {
                throw new IllegalStateException(impossible);
            }
        }
    }

    /**
     * Where standard input leads ({@code socket:[...]}, {@code pipe:[...]}, a path), read once:
     * it does not change while the process runs. Null when it cannot be told.
     */
    private static final String STDIN = stdinTarget();

    private static String stdinTarget() {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/0")).toString();
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return null;
        }
    }

    /** Whether standard input is a socket or a pipe: what Postfix's spawn(8) and pipe(8) give. */
    static boolean stdinIsSocketOrPipe() {
        return STDIN == null || STDIN.startsWith("socket:") || STDIN.startsWith("pipe:"); // cannot tell: the strict case
    }

    /** Whether standard input is a socket, as under spawn(8), rather than a terminal or pipe. */
    static boolean stdinIsSocket() {
        return STDIN == null || STDIN.startsWith("socket:"); // cannot tell: assume the strict case, stay silent
    }
}
