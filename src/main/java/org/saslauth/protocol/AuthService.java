package org.saslauth.protocol;

import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.saslauth.penalty.PenaltyStore;

/**
 * What every connection of one process shares: the settings, the per-address penalty and rate
 * limits, the clock and timer for delayed replies, and the executor that runs exchange steps
 * (password checks) off the thread that reads the connection. A spawn-mode helper has one
 * connection; a daemon has many and one of these.
 */
public final class AuthService {

    /**
     * A request is answered this long after it arrived at the latest: Postfix's 10 s, less a
     * margin for the trip and the write. Each step of an exchange gets the instant as its
     * {@link org.saslauth.Deadline}, which every wait below it (a slot for a slow hash, a
     * database) ends at. A step still queued or running at its deadline is answered with a
     * temporary failure then, and a FAIL held back by the failure delay goes out by then.
     */
    public static final Duration ANSWER_WITHIN = Duration.ofSeconds(9);

    /**
     * An exchange that waits this long for the client's next CONT is ended with a FAIL, as
     * Dovecot ends an unfinished request after 150 s: a client answers a challenge at once, and
     * one that never does must not hold memory for the life of its connection.
     */
    public static final Duration EXCHANGE_TIMEOUT = Duration.ofSeconds(150);

    final Settings settings;
    final Scheduler scheduler;
    final PendingBudget budget;
    final Executor checks;
    final Penalty penalty = new Penalty();
    final AddressRates addressRates;
    /** Bans, protected users and known networks: this process's or shared ({@code --penalty-store}). */
    final PenaltyStore penalties;
    /**
     * Steps in flight on one connection that the executor starts at once, without a wait:
     * beyond them a step's deadline is watched on the timer. A spawned helper's own pool has
     * {@value #SPAWN_WORKERS} threads for its one connection, and the stores and slots below a
     * step end their waits at its deadline, so a login there arms no timer; a daemon's shared
     * pool may make any step wait.
     */
    final int stepsThatStartAtOnce;

    /**
     * @param checks runs exchange steps; it may throw {@link java.util.concurrent.RejectedExecutionException}
     *     when full, which the client sees as a temporary failure
     */
    public AuthService(Settings settings, Scheduler scheduler, Executor checks) {
        this(settings, scheduler, checks, PendingBudget.ofHeap());
    }

    AuthService(Settings settings, Scheduler scheduler, Executor checks, PendingBudget budget) {
        this(settings, scheduler, checks, budget, 0);
    }

    private AuthService(Settings settings, Scheduler scheduler, Executor checks, PendingBudget budget,
            int stepsThatStartAtOnce) {
        this.stepsThatStartAtOnce = stepsThatStartAtOnce;
        this.budget = budget;
        this.settings = settings;
        this.scheduler = scheduler;
        this.checks = checks;
        this.addressRates = new AddressRates(settings.maxAuthRate());
        this.penalties = settings.penaltyStore().open(scheduler);
    }

    /** Readies the penalty store in the background ({@link PenaltyStore#warm}): once the handshake is out. */
    public void warm() {
        penalties.warm();
    }

    /** Lets go of the penalty store's connections, at the end of serving. */
    public void close() {
        penalties.close();
    }

    /** Workers of a spawn-mode helper: Postfix has one exchange in flight per smtpd. */
    static final int SPAWN_WORKERS = 4;

    /**
     * For a spawn-mode helper: {@value #SPAWN_WORKERS} worker threads, made when first needed
     * and gone after a while idle, so that up to that many password checks in flight on the
     * one connection never wait for each other; more wait in line, in order.
     */
    public static AuthService forOneConnection(Settings settings) {
        return forOneConnection(settings, Scheduler.system(), new LazyPool(SPAWN_WORKERS));
    }

    /** {@link #forOneConnection(Settings)} on a given clock and pool of {@value #SPAWN_WORKERS} workers. */
    static AuthService forOneConnection(Settings settings, Scheduler scheduler, Executor workers) {
        return new AuthService(settings, scheduler, workers, PendingBudget.ofHeap(), SPAWN_WORKERS);
    }

    /** A new connection, whose replies go to {@code out}; call {@link AuthConnection#start()}. */
    public AuthConnection connect(ReplyChannel out) {
        return new AuthConnection(this, out);
    }

    public Settings settings() {
        return settings;
    }

    /** A thread pool made at its first task: a helper that only ever serves OREORE makes none. */
    private static final class LazyPool implements Executor {
        private final int max;
        private ThreadPoolExecutor pool;

        LazyPool(int max) {
            this.max = max;
        }

        @Override
        public void execute(Runnable task) {
            pool().execute(task);
        }

        private synchronized ThreadPoolExecutor pool() {
            if (pool == null) {
                pool = new ThreadPoolExecutor(max, max, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "saslauth-check");
                    t.setDaemon(true);
                    return t;
                });
                pool.allowCoreThreadTimeOut(true);
            }
            return pool;
        }
    }
}
