package org.saslauth.store;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.saslauth.Deadline;

/**
 * Lookups that answer in time whatever the server and the driver do: each runs on a worker
 * thread and the login waits for it until the request's deadline, or {@code limit} when that
 * comes first, time in the queue included. At most {@code workers} lookups run at once (as many
 * as the store has connections, and a little more); the others wait their turn in a queue, so
 * that a burst of logins larger than the pool is served, not refused. A lookup whose login
 * stopped waiting, or whose deadline has passed, is skipped when its turn comes, and the drivers'
 * own timeouts end one left running.
 */
final class Bounded {

    /** Lookups waiting for a worker at most; beyond it a login is answered at once. */
    static final int QUEUE = 10_000;

    private final ThreadPoolExecutor pool;
    private final Duration limit;

    Bounded(String name, int workers, Duration limit) {
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(workers, workers, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(QUEUE), r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        pool.allowCoreThreadTimeOut(true);
        this.limit = limit;
    }

    /**
     * The task's result, or empty when it did not finish by the deadline (or within the limit),
     * failed, or the queue was full.
     */
    <T> Optional<T> call(Callable<T> task, Deadline deadline) {
        Deadline by = deadline.atMost(limit);
        if (by.passed()) {
            return Optional.empty();
        }
        FutureTask<T> f = new FutureTask<>(() -> by.passed() ? null : task.call()); // started late: skipped
        try {
            pool.execute(f);
        } catch (RejectedExecutionException e) {
            return Optional.empty();
        }
        try {
            if (by.await(nanos -> done(f, nanos))) {
                return Optional.ofNullable(f.get());
            }
            f.cancel(true);
            return Optional.empty();
        } catch (ExecutionException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            f.cancel(true);
            return Optional.empty();
        }
    }

    /** Whether {@code f} finished within {@code nanos}. */
    private static boolean done(Future<?> f, long nanos) throws InterruptedException {
        try {
            f.get(nanos, TimeUnit.NANOSECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            return true;
        }
    }

    /** Lookups waiting for a worker now (for tests). */
    int waiting() {
        return pool.getQueue().size();
    }

    void shutdown() {
        pool.shutdownNow();
    }
}
