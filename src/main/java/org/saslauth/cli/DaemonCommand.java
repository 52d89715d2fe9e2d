package org.saslauth.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.saslauth.Log;
import org.saslauth.daemon.AuthHandler;
import org.saslauth.daemon.Daemon;
import org.saslauth.daemon.HandshakeRehearsal;
import org.saslauth.daemon.Signals;
import org.saslauth.daemon.SocketFile;
import org.saslauth.daemon.UserdbHandler;
import org.saslauth.password.CostlyChecks;
import org.saslauth.protocol.AuthService;
import org.saslauth.protocol.Limits;
import org.saslauth.protocol.Scheduler;
import org.saslauth.protocol.Settings;
import org.saslauth.store.CredentialStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code saslauth daemon}: one long-lived process serving every client of the host on sockets,
 * instead of one helper per smtpd process. Its options are the serving options of the
 * {@link ServingOption} table and its own ({@link ServingOption.Applies#DAEMON}), config-file keys
 * like the others.
 */
@Command(name = "daemon", mixinStandardHelpOptions = true, versionProvider = Version.class, sortOptions = false,
        description = {
            "Serve the protocol on sockets to every client of the host (Postfix, Exim, chasquid,",
            "doveadm) from one process, with one penalty, one set of users and one pool of",
            "password checks for all. Takes every serving option of saslauth as well. Its own",
            "options, --listen to --workers, may also be keys of the --config file.",
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

    /** Where picocli writes the values of the table's options, the daemon's own included. */
    final Options options = Options.defaults(ServingOption.For.DAEMON);

    /** The config file: its warnings and problems are logged once the log is open. */
    ConfigFile.Contents config = ConfigFile.Contents.NONE;

    /** The command line, for where each value came from. */
    String[] args = new String[0];

    private boolean logToFile;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        Config.Logs logs = Config.Logs.of(options);
        List<String> problems = new ArrayList<>(config.problems());
        if (logs.file().isPresent() || logs.syslogFacility().isPresent()) {
            // to the file, to syslog, or to both; to syslog only, not to stderr as well: under
            // systemd both reach the journal
            logToFile = true;
            try {
                logs.open();
            } catch (IOException e) {
                // Postfix refuses every session while the daemon's socket is missing: the daemon
                // serves all the same, to the terminal (the journal), every login a temporary
                // failure, since fail2ban would see no failure without the log.
                logToFile = false;
                Logging.toTerminal(logs.level());
                problems.add("cannot open log file " + logs.file().get() + ": " + e.getMessage());
            }
        } else {
            Logging.toTerminal(logs.level()); // stderr: the journal under systemd
        }
        var log = Log.LOG;
        try {
            DaemonConfig daemonConfig = DaemonConfig.of(options);
            // --workers slow hashes at once; more threads than that, so that a {PLAIN} login or a
            // lookup never waits for a thread behind them.
            int workers = daemonConfig.workers();
            CostlyChecks slots = new CostlyChecks(workers);
            int threads = Math.max(MIN_THREADS, 4 * workers);
            // Database or directory connections: a few more than the slow hashes, at most 16 (each
            // is held open for good), retried while their server is down.
            int storeConnections = Math.min(16, workers + 4);
            Saslauth.Served served;
            try {
                served = Saslauth.startServing(options.from(config, args), config.warnings(), problems,
                        storeConnections, true);
            } catch (StartupError e) {
                return cannotStart(err, e.getMessage()); // not when degrading
            }
            try (CredentialStore store = served.store()) {
                return serve(err, daemonConfig, served.settings(slots), threads, options.string(ServingOption.PASSDB));
            }
        } catch (RuntimeException e) {
            log.error("internal error", e);
            return ExitCodes.SOFTWARE;
        } finally {
            Logging.flush();
        }
    }

    /** Serves until SIGTERM; the caller closes the store once every connection is done. */
    private int serve(PrintWriter err, DaemonConfig daemonConfig, Settings settings, int threads, String passdb) {
        ThreadPoolExecutor checks = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(10_000), threads("saslauth-check"));
        checks.allowCoreThreadTimeOut(true);
        try {
            Scheduler clock = Scheduler.system(); // one clock and one timer thread for the engine and the sockets
            AuthService service = new AuthService(settings, clock, checks);
            CountDownLatch stop = new CountDownLatch(1);
            Signals.onStop(stop::countDown, settings.credentials()::reload);
            AuthHandler auth = new AuthHandler(service);
            // Before the bind, so that the first clients are greeted as fast as later ones: the
            // handshake rehearsed, and the log's time zone read (its first line, "listening on",
            // comes right after the bind and would read it then).
            HandshakeRehearsal.run(auth, Limits.DEFAULT, clock);
            Logging.lookUpZone();
            Daemon daemon;
            try {
                daemon = Daemon.bind(daemonConfig.sockets(), auth,
                        new UserdbHandler(settings.credentials(), checks, clock), AuthHandler.FINISH.plusSeconds(1), stop,
                        clock);
            } catch (SocketFile.Unusable e) {
                return cannotStart(err, e.getMessage());
            } catch (IOException e) {
                return cannotStart(err, e.toString());
            }
            service.warm();
            AutoCloseable metrics = daemonConfig.metricsListen().isPresent()
                    ? Metrics.start(daemonConfig, passdb, daemon::connectionsByListener) : () -> { };
            try {
                daemon.serveUntilStopped();
            } finally {
                Metrics.stop(metrics);
            }
            service.close();
            return ExitCodes.OK;
        } finally {
            checks.shutdown();
        }
    }

    private static ThreadFactory threads(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
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

    /** The daemon's sockets, as {@link DaemonConfig} makes them from the options. */
    Daemon.Options daemonOptions() {
        return DaemonConfig.of(options).sockets();
    }
}
