package org.saslauth;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.saslauth.daemon.AllowFrom;
import org.saslauth.daemon.AuthServeBridge;
import org.saslauth.daemon.Daemon;
import org.saslauth.daemon.ListenAddress;
import org.saslauth.daemon.Signals;
import org.saslauth.daemon.SocketFile;
import org.saslauth.daemon.UserdbHandler;
import org.saslauth.protocol.AuthServer;
import org.saslauth.protocol.Log;
import org.saslauth.store.CredentialStore;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code saslauth daemon}: one long-lived process serving every client of the host on sockets,
 * instead of one helper per smtpd process. Takes the serving options of {@code saslauth} as well.
 */
@Command(name = "daemon", mixinStandardHelpOptions = true, versionProvider = Version.class, sortOptions = false,
        description = {
            "Serve the protocol on sockets to every client of the host (Postfix, Exim, chasquid,",
            "doveadm) from one process. Takes every serving option of saslauth as well",
            "(--passwd-file, --mechanisms, --failure-delay, --log-file, --config...).",
            "Runs until SIGTERM, which stops accepting, answers what is in flight and exits 0."
        },
        footer = {"", "Exit status:", "  0   stopped by SIGTERM or SIGINT",
            "  2   bad option or option value",
            "  3   unusable configuration or socket (another server listening on it, a bad user...)"})
final class DaemonCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--listen", paramLabel = "ADDRESS",
            description = "unix:PATH or tcp:HOST:PORT; repeatable. Without it, the listening socket given as stdin"
                    + " by systemd (StandardInput=socket).")
    List<String> listen = new ArrayList<>();

    @Option(names = "--socket-mode", paramLabel = "MODE",
            description = "Permissions of the UNIX sockets, octal (default: ${DEFAULT-VALUE}).")
    String socketMode = "0660";

    @Option(names = "--socket-user", paramLabel = "USER", description = "Owner of the UNIX sockets.")
    String socketUser;

    @Option(names = "--socket-group", paramLabel = "GROUP", description = "Group of the UNIX sockets.")
    String socketGroup;

    @Option(names = "--allow-from", paramLabel = "CIDR,...",
            description = "Client addresses allowed on TCP listeners; required for a non-loopback tcp: address.")
    String allowFrom;

    @Option(names = "--userdb-listen", paramLabel = "unix:PATH",
            description = "Also answer Dovecot auth-master USER lookups (does a user exist) on this socket.")
    String userdbListen;

    @Option(names = "--max-connections", paramLabel = "N",
            description = "Connections served at once; beyond it new ones are refused (default: ${DEFAULT-VALUE}).")
    int maxConnections = 1000;

    @Option(names = "--workers", paramLabel = "N",
            description = "Threads for user lookups (default: ${DEFAULT-VALUE}).")
    int workers = Math.max(2, Runtime.getRuntime().availableProcessors());

    @Unmatched
    List<String> servingArgs = new ArrayList<>();

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        Saslauth serving = new Saslauth();
        CommandLine servingLine = new CommandLine(serving);
        String[] rest = servingArgs.toArray(new String[0]);
        try {
            Saslauth.ConfigFile.apply(servingLine, rest);
            CommandLine.ParseResult parsed = servingLine.parseArgs(rest);
            if (parsed.hasSubcommand() || !parsed.unmatched().isEmpty()) {
                err.println("saslauth daemon: unexpected arguments: " + String.join(" ", rest));
                return ExitCodes.USAGE;
            }
        } catch (CommandLine.ParameterException e) {
            err.println("saslauth daemon: " + e.getMessage());
            return ExitCodes.USAGE;
        } catch (Saslauth.ConfigFile.Invalid e) {
            err.println("saslauth daemon: " + e.getMessage());
            return ExitCodes.CONFIG;
        }
        if (!java.util.Arrays.asList(Logging.LEVELS).contains(serving.logLevel)) {
            err.println("saslauth daemon: --log-level must be one of " + String.join(", ", Logging.LEVELS));
            return ExitCodes.USAGE;
        }
        Daemon.Options options;
        try {
            options = options();
        } catch (IllegalArgumentException e) {
            err.println("saslauth daemon: " + e.getMessage());
            return ExitCodes.USAGE;
        }
        if (serving.logFile != null) {
            logToFile = true;
            try {
                Logging.toFile(serving.logFile, serving.logLevel);
            } catch (IOException e) {
                err.println("saslauth daemon: cannot open log file " + serving.logFile + ": " + e.getMessage());
                return ExitCodes.CONFIG;
            }
        } else {
            Logging.toTerminal(serving.logLevel); // stderr: the journal under systemd
        }
        var log = Log.LOG;
        AuthServer.Settings settings;
        CredentialStore store = CredentialStore.NONE;
        try {
            settings = serving.settings();
            if (serving.store.passwdFile != null) {
                store = serving.store.open(); // the one settings() opened
            }
        } catch (Saslauth.StartupError e) {
            return cannotStart(err, e.getMessage());
        }
        if (settings.mechanisms().contains("OREORE")) {
            log.warn("OREORE is enabled: any client can log in as any user name without a password");
        }
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(workers, workers, 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(10_000), r -> {
                    Thread t = new Thread(r, "saslauth-worker-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        // A stop waits for the longest a FAIL may be held back (the penalty caps it at 5s), and a second.
        Duration drain = (settings.penalty() ? Duration.ofSeconds(5) : settings.failureDelay()).plusSeconds(1);
        CountDownLatch stop = new CountDownLatch(1);
        Signals.onStop(stop::countDown);
        Daemon daemon;
        try {
            daemon = Daemon.bind(options, new AuthServeBridge(settings),
                    new UserdbHandler(settings.credentials(), store, pool), drain, stop);
        } catch (SocketFile.Unusable e) {
            return cannotStart(err, e.getMessage());
        } catch (IOException e) {
            return cannotStart(err, e.toString());
        }
        log.debug("serving {}", settings.mechanisms());
        daemon.serveUntilStopped();
        pool.shutdown();
        Logging.flush();
        return ExitCodes.OK;
    }

    /** Logs why (to the log file, or to stderr when there is none) and tells the terminal too. */
    private int cannotStart(PrintWriter err, String message) {
        Log.LOG.error("cannot start: {}", message);
        Logging.flush();
        if (logToFile) {
            err.println("saslauth daemon: " + message);
        }
        return ExitCodes.CONFIG;
    }

    private boolean logToFile;

    private Daemon.Options options() {
        List<ListenAddress> addresses = new ArrayList<>();
        for (String l : listen) {
            for (String one : l.split(",")) {
                addresses.add(parse(one.strip()));
            }
        }
        Path userdb = null;
        if (userdbListen != null) {
            if (!(parse(userdbListen) instanceof ListenAddress.Unix u)) {
                throw new IllegalArgumentException("--userdb-listen takes unix:PATH only");
            }
            userdb = u.path();
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("--max-connections must be at least 1");
        }
        if (workers < 1) {
            throw new IllegalArgumentException("--workers must be at least 1");
        }
        SocketFile.Access access = new SocketFile.Access(SocketFile.parseMode(socketMode), socketUser, socketGroup);
        return new Daemon.Options(addresses, access, allowFrom == null ? null : AllowFrom.parse(allowFrom),
                userdb, maxConnections, true);
    }

    private static ListenAddress parse(String value) {
        return ListenAddress.parse(value);
    }
}
