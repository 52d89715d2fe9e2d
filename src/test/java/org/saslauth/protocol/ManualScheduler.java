package org.saslauth.protocol;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** A clock that moves only when told, and a timer that runs what is due when it does. */
public final class ManualScheduler implements Scheduler {

    private record Task(long due, long order, Runnable task) {}

    private long now = 1_000_000_000L;
    private long order;
    private final List<Task> tasks = new ArrayList<>();

    @Override
    public synchronized long nanoTime() {
        return now;
    }

    @Override
    public synchronized void schedule(Runnable task, long delayNanos) {
        tasks.add(new Task(now + delayNanos, order++, task));
    }

    /** Moves the clock forward, running every task that falls due on the way, in order. */
    public void advanceMillis(long millis) {
        long target;
        synchronized (this) {
            target = now + millis * 1_000_000;
        }
        while (true) {
            Task next;
            synchronized (this) {
                next = tasks.stream().filter(t -> t.due() <= target)
                        .min(Comparator.comparingLong(Task::due).thenComparingLong(Task::order)).orElse(null);
                if (next == null) {
                    now = target;
                    return;
                }
                tasks.remove(next);
                now = Math.max(now, next.due());
            }
            next.task().run();
        }
    }

    /**
     * The delays of the replies held back, from now, in milliseconds: the tasks waiting, but for
     * the request handlers' sweeps for deadlines and idle exchanges.
     */
    public synchronized List<Long> pendingMillis() {
        return tasks.stream().filter(t -> !(t.task() instanceof RequestHandler.Sweep))
                .map(t -> (t.due() - now) / 1_000_000).sorted().toList();
    }

    /** The delays of every task waiting, from now, in milliseconds. */
    public synchronized List<Long> timersMillis() {
        return tasks.stream().map(t -> (t.due() - now) / 1_000_000).sorted().toList();
    }
}
