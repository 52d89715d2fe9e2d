package org.saslauth.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BoundedTest {

    private final ExecutorService logins = Executors.newCachedThreadPool();
    private Bounded bounded;

    @AfterEach
    void stop() {
        logins.shutdownNow();
        if (bounded != null) {
            bounded.shutdown();
        }
    }

    @Test
    void moreLookupsThanWorkersWaitTheirTurnInsteadOfFailing() throws Exception {
        bounded = new Bounded("test", 1, Duration.ofSeconds(5));
        AtomicInteger running = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        List<Future<Optional<Integer>>> results = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            int n = i;
            results.add(logins.submit(() -> bounded.call(() -> {
                most.accumulateAndGet(running.incrementAndGet(), Math::max);
                Thread.sleep(50);
                running.decrementAndGet();
                return n;
            })));
        }
        for (int i = 0; i < 4; i++) {
            assertEquals(Optional.of(i), results.get(i).get(10, TimeUnit.SECONDS), "lookup " + i);
        }
        assertEquals(1, most.get(), "one worker: one lookup at a time");
    }

    @Test
    void aLoginWaitsAtMostTheLimitQueueIncludedAndItsLookupNeverRuns() throws Exception {
        bounded = new Bounded("test", 1, Duration.ofMillis(300));
        CountDownLatch hang = new CountDownLatch(1);
        Future<Optional<String>> stuck = logins.submit(() -> bounded.call(() -> {
            while (hang.getCount() > 0) { // a driver that does not heed interrupts
                try {
                    hang.await();
                } catch (InterruptedException e) {
                    // carries on
                }
            }
            return "late";
        }));
        Thread.sleep(50);
        AtomicInteger ran = new AtomicInteger();
        long t0 = System.nanoTime();
        Optional<String> queued = bounded.call(() -> {
            ran.incrementAndGet();
            return "queued";
        });
        long waitedMs = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(Optional.empty(), queued);
        assertTrue(waitedMs >= 250 && waitedMs < 2000, "waited " + waitedMs + " ms");
        assertEquals(Optional.empty(), stuck.get(5, TimeUnit.SECONDS));
        hang.countDown();
        Thread.sleep(100);
        assertEquals(0, ran.get(), "a lookup nobody waits for any more is skipped");
    }
}
