package org.saslauth.cli;

import static org.saslauth.cli.ServingOption.LOG_FILE;
import static org.saslauth.cli.ServingOption.LOG_LEVEL;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.saslauth.Log;
import org.saslauth.daemon.AllowFrom;
import org.saslauth.daemon.AuthHandler;
import org.saslauth.daemon.Daemon;
import org.saslauth.daemon.ListenAddress;
import org.saslauth.daemon.Signals;
import org.saslauth.daemon.SocketFile;
import org.saslauth.daemon.UserdbHandler;
import org.saslauth.password.CostlyChecks;
import org.saslauth.protocol.AuthService;
import org.saslauth.protocol.Scheduler;
import org.saslauth.protocol.Settings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code saslauth daemon}: one long-lived process serving every client of the host on sockets,
 * instead of one helper per smtpd process. Takes the serving options of the {@link ServingOption}
 * table as well; its own options are command-line only for now.
 */
@Command(name = "daemon", mixinStandardHelpOptions = true, versionProvider = Version.class, sortOptions = false,
        description = {
            "Serve the protocol on sockets to every client of the host (Postfix, Exim, chasquid,",
            "doveadm) from one process, with one penalty, one set of users and one pool of",
            "password checks for all. Takes every serving option of saslauth as well.",
            "Runs until SIGTERM, which stops accepting, answers what is in flight and exits 0.",
            "Without --log-file, log lines go to stderr (the journal under systemd)."
        },
        footer = {"", "Exit status:", "  0   stopped by SIGTERM or SIGINT",
            "  2   bad option or option value",
            "  3   unusable configuration or socket (another server listening on it, a bad user...)"})
final class DaemonCommand implements Callable<Integer> {

    /** Threads for checks and lookups at the least, whatever --workers says. */
    private static final int MIN_THREADS = 16;

    @Spec
    CommandSpec spec;

    /** Where picocli writes the serving options' values. */
    final Options options = Options.defaults();

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
            description = "Slow password hashes (crypt, bcrypt, Argon2, PBKDF2) computed at once; other checks and"
                    + " lookups run beside them on up to 4 times as many threads, at least 16 (default: the CPUs, at least 2).")
    int workers = Math.max(2, Runtime.getRuntime().availableProcessors());

    /** What the config file warned about, logged once the log is open. */
    List<String> configWarnings = List.of();

    private boolean logToFile;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        Daemon.Options daemonOptions;
        try {
            daemonOptions = daemonOptions();
        } catch (IllegalArgumentException e) {
            err.println("saslauth daemon: " + e.getMessage());
            return ExitCodes.USAGE;
        }
        Path logFile = options.path(LOG_FILE);
        if (logFile != null) {
            logToFile = true;
            try {
                Logging.toFile(logFile, options.string(LOG_LEVEL));
            } catch (IOException e) {
                err.println("saslauth daemon: cannot open log file " + logFile + ": " + e.getMessage());
                return ExitCodes.CONFIG;
            }
        } else {
            Logging.toTerminal(options.string(LOG_LEVEL)); // stderr: the journal under systemd
        }
        var log = Log.LOG;
        try {
            // --workers slow hashes at once; more threads than that, so that a {PLAIN} login or a
            // lookup never waits for a thread behind them.
            CostlyChecks.limit(workers);
            int threads = Math.max(MIN_THREADS, 4 * workers);
            Settings settings;
            try { // one pool of database or directory connections, retried while its server is down
                settings = Saslauth.startServing(options, configWarnings, threads / 2, false);
            } catch (StartupError e) {
                return cannotStart(err, e.getMessage());
            }
            ThreadPoolExecutor checks = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
                    new LinkedBlockingQueue<>(10_000), threads("saslauth-check", 0));
            checks.allowCoreThreadTimeOut(true);
            // End of input waits for held FAILs there: a thread while a connection drains, few at once.
            ExecutorService finisher = Executors.newCachedThreadPool(threads("saslauth-finish", 256 * 1024));
            AuthService service = new AuthService(settings, Scheduler.system(), checks);
            CountDownLatch stop = new CountDownLatch(1);
            Signals.onStop(stop::countDown, settings.credentials()::reload);
            Daemon daemon;
            try {
                daemon = Daemon.bind(daemonOptions, new AuthHandler(service, finisher),
                        new UserdbHandler(settings.credentials(), checks), AuthHandler.FINISH.plusSeconds(1), stop);
            } catch (SocketFile.Unusable e) {
                return cannotStart(err, e.getMessage());
            } catch (IOException e) {
                return cannotStart(err, e.toString());
            }
            daemon.serveUntilStopped();
            checks.shutdown();
            finisher.shutdown();
            return ExitCodes.OK;
        } catch (RuntimeException e) {
            log.error("internal error", e);
            return ExitCodes.SOFTWARE;
        } finally {
            Logging.flush();
        }
    }

    private static ThreadFactory threads(String name, long stackSize) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(null, r, name + "-" + n.incrementAndGet(), stackSize);
            t.setDaemon(true);
            return t;
        };
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

    private Daemon.Options daemonOptions() {
        List<ListenAddress> addresses = new ArrayList<>();
        for (String l : listen) {
            for (String one : l.split(",")) {
                addresses.add(ListenAddress.parse(one.strip()));
            }
        }
        Path userdb = null;
        if (userdbListen != null) {
            if (!(ListenAddress.parse(userdbListen) instanceof ListenAddress.Unix u)) {
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
}
