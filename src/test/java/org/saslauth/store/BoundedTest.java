package org.saslauth.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.saslauth.Deadline;
import org.saslauth.ManualClock;

/** Lookups on a clock moved by hand: nothing here waits for time to pass. */
class BoundedTest {

    private final ExecutorService logins = Executors.newCachedThreadPool();
    private final ManualClock clock = new ManualClock();
    private Bounded bounded;

    @AfterEach
    void stop() {
        logins.shutdownNow();
        if (bounded != null) {
            bounded.shutdown();
        }
    }

    /** Spins until {@code condition} holds: what it waits for is another thread's next step. */
    private static void until(BooleanSupplier condition) {
        while (!condition.getAsBoolean()) {
            Thread.onSpinWait();
        }
    }

    /** A lookup that blocks until {@code release}, whatever interrupts it (a driver that does not heed them). */
    private static <T> T blockUntil(CountDownLatch release, T answer) {
        while (release.getCount() > 0) {
            try {
                release.await();
            } catch (InterruptedException e) {
                // carries on
            }
        }
        return answer;
    }

    @Test
    void moreLookupsThanWorkersWaitTheirTurnInsteadOfFailing() throws Exception {
        bounded = new Bounded("test", 1, Duration.ofSeconds(5));
        Deadline deadline = Deadline.in(clock, Duration.ofSeconds(9));
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        List<Future<Optional<Integer>>> results = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            int n = i;
            results.add(logins.submit(() -> bounded.call(() -> {
                most.accumulateAndGet(running.incrementAndGet(), Math::max);
                blockUntil(release, n);
                running.decrementAndGet();
                return n;
            }, deadline)));
        }
        until(() -> running.get() == 1 && bounded.waiting() == 3);
        release.countDown();
        for (int i = 0; i < 4; i++) {
            assertEquals(Optional.of(i), results.get(i).get(), "lookup " + i);
        }
        assertEquals(1, most.get(), "one worker: one lookup at a time");
    }

    /**
     * A lookup still queued at its deadline is never started, and one that runs past it is
     * answered unavailable at the deadline, not when the driver gives up.
     */
    @Test
    void atTheDeadlineARunningLookupIsUnavailableAndAQueuedOneNeverRuns() throws Exception {
        bounded = new Bounded("test", 1, Duration.ofSeconds(5));
        CountDownLatch hang = new CountDownLatch(1);
        Deadline deadline = Deadline.in(clock, Duration.ofSeconds(2));
        AtomicInteger started = new AtomicInteger();
        Future<Optional<String>> stuck = logins.submit(() -> bounded.call(() -> {
            started.incrementAndGet();
            return blockUntil(hang, "late");
        }, deadline));
        until(() -> started.get() == 1);
        AtomicInteger ran = new AtomicInteger();
        Future<Optional<String>> queued = logins.submit(() -> bounded.call(() -> {
            ran.incrementAndGet();
            return "queued";
        }, deadline));
        until(() -> bounded.waiting() == 1);
        clock.advanceMillis(1999);
        assertFalse(stuck.isDone() || queued.isDone(), "nobody answered before the deadline");
        clock.advanceMillis(1);
        assertEquals(Optional.empty(), stuck.get(), "answered while the lookup still runs");
        assertEquals(Optional.empty(), queued.get());
        hang.countDown();
        Optional<String> next = bounded.call(() -> "next", Deadline.in(clock, Duration.ofSeconds(9)));
        assertEquals(Optional.of("next"), next, "the worker is free again");
        assertEquals(0, ran.get(), "a lookup whose deadline passed in the queue is skipped");
    }

    /** The store's own limit holds when the request has more time left. */
    @Test
    void aLoginWaitsAtMostTheLimitQueueIncludedWhenItsDeadlineIsLater() throws Exception {
        bounded = new Bounded("test", 1, Duration.ofMillis(300));
        CountDownLatch hang = new CountDownLatch(1);
        AtomicInteger started = new AtomicInteger();
        Future<Optional<String>> stuck = logins.submit(() -> bounded.call(() -> {
            started.incrementAndGet();
            return blockUntil(hang, "late");
        }, Deadline.in(clock, Duration.ofSeconds(9))));
        until(() -> started.get() == 1);
        AtomicInteger ran = new AtomicInteger();
        Future<Optional<Integer>> queued = logins.submit(() -> bounded.call(ran::incrementAndGet,
                Deadline.in(clock, Duration.ofSeconds(9))));
        until(() -> bounded.waiting() == 1);
        clock.advanceMillis(299);
        assertFalse(stuck.isDone() || queued.isDone(), "nobody answered before the limit");
        clock.advanceMillis(1);
        assertEquals(Optional.empty(), stuck.get());
        assertEquals(Optional.empty(), queued.get(), "the limit counts the time in the queue");
        hang.countDown();
        assertEquals(Optional.of("next"), bounded.call(() -> "next", Deadline.in(clock, Duration.ofSeconds(9))));
        assertEquals(0, ran.get(), "a lookup nobody waits for any more is skipped");
    }

    @Test
    void aLookupWhoseDeadlineHasPassedIsNotQueuedAtAll() {
        bounded = new Bounded("test", 1, Duration.ofSeconds(5));
        Deadline deadline = Deadline.in(clock, Duration.ofSeconds(1));
        clock.advanceMillis(1000);
        AtomicInteger ran = new AtomicInteger();
        assertEquals(Optional.empty(), bounded.call(ran::incrementAndGet, deadline));
        assertEquals(0, ran.get());
        assertEquals(0, bounded.waiting());
    }
}
