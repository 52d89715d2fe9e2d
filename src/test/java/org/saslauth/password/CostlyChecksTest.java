package org.saslauth.password;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CostlyChecksTest {

    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void restore() {
        threads.shutdownNow();
        CostlyChecks.limit(Runtime.getRuntime().availableProcessors());
        CostlyChecks.maxWait = CostlyChecks.MAX_WAIT;
    }

    /** A check of the given cost that waits for {@code release} and counts how many run at once. */
    private static Scheme.Check blocking(long cost, CountDownLatch release, AtomicInteger running, AtomicInteger most) {
        return Scheme.Check.costing(cost, password -> {
            most.accumulateAndGet(running.incrementAndGet(), Math::max);
            try {
                return release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            } finally {
                running.decrementAndGet();
            }
        });
    }

    @Test
    void noMoreCostlyChecksRunAtOnceThanTheLimit() throws Exception {
        CostlyChecks.limit(2);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        Scheme.Check slow = blocking(CostlyChecks.COSTLY_MICROS, release, running, most);
        Future<?>[] f = new Future<?>[5];
        for (int i = 0; i < f.length; i++) {
            f[i] = threads.submit(() -> CostlyChecks.matches(slow, new byte[1]));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (running.get() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        Thread.sleep(200); // time for a third to start, were it allowed to
        assertEquals(2, running.get());
        assertEquals(0, CostlyChecks.available());
        release.countDown();
        for (Future<?> x : f) {
            assertEquals(Boolean.TRUE, x.get(10, TimeUnit.SECONDS));
        }
        assertEquals(2, most.get());
        assertEquals(2, CostlyChecks.available());
    }

    @Test
    void aCheapCheckDoesNotWaitForTheCostlyOnes() throws Exception {
        CostlyChecks.limit(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        Scheme.Check slow = blocking(CostlyChecks.COSTLY_MICROS, release, running, most);
        Future<Boolean> busy = threads.submit(() -> CostlyChecks.matches(slow, new byte[1]));
        Future<Boolean> waiting = threads.submit(() -> CostlyChecks.matches(slow, new byte[1]));
        while (running.get() < 1) {
            Thread.sleep(5);
        }
        Scheme.Check cheap = Scheme.Check.costing(CostlyChecks.COSTLY_MICROS - 1, password -> password.length == 3);
        Future<Boolean> quick = threads.submit(() -> CostlyChecks.matches(cheap, new byte[3]));
        assertTrue(quick.get(5, TimeUnit.SECONDS), "the cheap check ran while the costly slot was taken");
        assertFalse(waiting.isDone());
        release.countDown();
        assertTrue(busy.get(10, TimeUnit.SECONDS));
        assertTrue(waiting.get(10, TimeUnit.SECONDS));
        assertEquals(1, most.get());
    }

    @Test
    void aCheckThatFindsNoSlotInTimeIsOverloadedNeverAWrongPassword() throws Exception {
        CostlyChecks.limit(1);
        CostlyChecks.maxWait = java.time.Duration.ofMillis(200);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        Scheme.Check slow = blocking(CostlyChecks.COSTLY_MICROS, release, running, most);
        Future<Boolean> busy = threads.submit(() -> CostlyChecks.matches(slow, new byte[1]));
        while (running.get() < 1) {
            Thread.sleep(5);
        }
        long t0 = System.nanoTime();
        org.junit.jupiter.api.Assertions.assertThrows(CostlyChecks.Overloaded.class,
                () -> CostlyChecks.matches(slow, new byte[1]));
        long waitedMs = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(waitedMs >= 150 && waitedMs < 3000, "waited " + waitedMs + " ms");
        release.countDown();
        assertTrue(busy.get(10, TimeUnit.SECONDS));
        assertEquals(1, CostlyChecks.available(), "the slot is back, none lost");
    }

    @Test
    void storedHashesOfSlowSchemesAreCostlyAndDigestsAreNot() {
        assertTrue(PasswordSchemes.parse("{SHA512-CRYPT}$6$DE8UOleSdck/w0i.$k1RLaR1G4wuxyEQ.wAmoR/ggxI1yEACfr9ct/n0tsoBp/NK7L6asiDxIwUk.FpeOYqv0PbijZVjBY8LzJrT.50")
                .cost() >= CostlyChecks.COSTLY_MICROS);
        assertTrue(PasswordSchemes.parse("{PLAIN-MD5}5f4dcc3b5aa765d61d8327deb882cf99").cost()
                < CostlyChecks.COSTLY_MICROS);
        assertTrue(PasswordSchemes.parse("{PLAIN}x").cost() < CostlyChecks.COSTLY_MICROS);
    }
}
