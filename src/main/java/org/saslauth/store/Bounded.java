package org.saslauth.store;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Lookups that answer in time whatever the server and the driver do: each runs on a worker
 * thread and the login waits for it at most {@code limit}. The drivers' own timeouts end a
 * lookup left behind; meanwhile at most {@code workers} lookups run, and a login that finds
 * them all busy is answered at once.
 */
final class Bounded {

    private final ThreadPoolExecutor pool;
    private final Duration limit;

    Bounded(String name, int workers, Duration limit) {
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(0, workers, 60, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.limit = limit;
    }

    /** The task's result, or empty when it did not finish in time, failed or found no worker. */
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
