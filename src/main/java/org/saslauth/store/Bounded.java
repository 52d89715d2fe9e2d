package org.saslauth.store;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Lookups that answer in time whatever the server and the driver do: each runs on a worker
 * thread and the login waits for it at most {@code limit}, time in the queue included. At most
 * {@code workers} lookups run at once (as many as the store has connections, and a little more);
 * the others wait their turn in a queue, so that a burst of logins larger than the pool is
 * served, not refused. A lookup whose login stopped waiting is skipped when its turn comes, and the
 * drivers' own timeouts end one left running.
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

    /** The task's result, or empty when it did not finish in time, failed, or the queue was full. */
    <T> Optional<T> call(Callable<T> task) {
        Future<T> f;
        try {
            f = pool.submit(task);
        } catch (RejectedExecutionException e) {
            return Optional.empty();
        }
        try {
            return Optional.ofNullable(f.get(limit.toNanos(), TimeUnit.NANOSECONDS));
        } catch (TimeoutException e) {
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

    void shutdown() {
        pool.shutdownNow();
    }
}
