package org.saslauth.protocol;

import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The engine's clock and its timer for delayed replies, given to it so that one timer serves
 * every connection of a daemon and tests can move time by hand.
 */
public interface Scheduler extends org.saslauth.Clock {

    /** Monotonic time, as {@link System#nanoTime()}. */
    long nanoTime();

    /** Runs {@code task} once, {@code delayNanos} from now, on the timer's thread. */
    void schedule(Runnable task, long delayNanos);

    /** The system clock and one daemon timer thread, started by the first delayed reply. */
    static Scheduler system() {
        return new Scheduler() {
            private ScheduledThreadPoolExecutor timer;

            @Override
            public long nanoTime() {
                return System.nanoTime();
            }

            @Override
            public void schedule(Runnable task, long delayNanos) {
                timer().schedule(task, delayNanos, TimeUnit.NANOSECONDS);
            }

            private synchronized ScheduledThreadPoolExecutor timer() {
                if (timer == null) {
                    timer = new ScheduledThreadPoolExecutor(1, r -> {
                        Thread t = new Thread(r, "saslauth-failure-delay");
                        t.setDaemon(true);
                        return t;
                    });
                    timer.setRemoveOnCancelPolicy(true);
                }
                return timer;
            }
        };
    }
}
