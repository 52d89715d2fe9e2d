package org.saslauth.password;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
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

/** Slots for slow hashes, on a clock moved by hand: nothing here waits for time to pass. */
class CostlyChecksTest {

    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final ManualClock clock = new ManualClock();

    @AfterEach
    void stop() {
        threads.shutdownNow();
    }

    /** A check of the given cost that waits for {@code release} and counts how many run at once. */
    private static Scheme.Check blocking(long cost, CountDownLatch release, AtomicInteger running, AtomicInteger most) {
        return Scheme.Check.costing(cost, password -> {
            most.accumulateAndGet(running.incrementAndGet(), Math::max);
            try {
                release.await();
                return true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            } finally {
                running.decrementAndGet();
            }
        });
    }

    /** Spins until {@code condition} holds: what it waits for is another thread's next step. */
    private static void until(BooleanSupplier condition) {
        while (!condition.getAsBoolean()) {
            Thread.onSpinWait();
        }
    }

    private Deadline in(Duration d) {
        return Deadline.in(clock, d);
    }

    @Test
    void noMoreCostlyChecksRunAtOnceThanTheLimit() throws Exception {
        CostlyChecks slots = new CostlyChecks(2);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        Scheme.Check slow = blocking(CostlyChecks.COSTLY_MICROS, release, running, most);
        Deadline deadline = in(Duration.ofSeconds(9));
        Future<?>[] f = new Future<?>[5];
        for (int i = 0; i < f.length; i++) {
            f[i] = threads.submit(() -> slots.check(slow, new byte[1], deadline));
        }
        until(() -> running.get() == 2 && slots.queued() == 3);
        assertEquals(2, running.get(), "the other three wait for a slot");
        assertEquals(0, slots.available());
        release.countDown();
        for (Future<?> x : f) {
            assertEquals(Match.MATCHED, x.get());
        }
        assertEquals(2, most.get());
        assertEquals(2, slots.available());
    }

    @Test
    void aCheapCheckDoesNotWaitForTheCostlyOnes() throws Exception {
        CostlyChecks slots = new CostlyChecks(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        Scheme.Check slow = blocking(CostlyChecks.COSTLY_MICROS, release, running, most);
        Deadline deadline = in(Duration.ofSeconds(9));
        Future<Match> busy = threads.submit(() -> slots.check(slow, new byte[1], deadline));
        until(() -> running.get() == 1);
        Future<Match> waiting = threads.submit(() -> slots.check(slow, new byte[1], deadline));
        until(() -> slots.queued() == 1);
        Scheme.Check cheap = Scheme.Check.costing(CostlyChecks.COSTLY_MICROS - 1, password -> password.length == 3);
        assertEquals(Match.MATCHED, slots.check(cheap, new byte[3], deadline),
                "the cheap check ran while the costly slot was taken");
        assertFalse(waiting.isDone());
        release.countDown();
        assertEquals(Match.MATCHED, busy.get());
        assertEquals(Match.MATCHED, waiting.get());
        assertEquals(1, most.get());
    }

    /** Waits for a slot until the deadline, less the check's own time, then answers too busy. */
    @Test
    void aCheckThatFindsNoSlotBeforeItsDeadlineIsTooBusyNeverAWrongPassword() throws Exception {
        CostlyChecks slots = new CostlyChecks(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        Scheme.Check slow = blocking(CostlyChecks.COSTLY_MICROS, release, running, most);
        Future<Match> busy = threads.submit(() -> slots.check(slow, new byte[1], in(Duration.ofSeconds(60))));
        until(() -> running.get() == 1);
        Future<Match> late = threads.submit(() -> slots.check(slow, new byte[1], in(Duration.ofSeconds(2))));
        until(() -> slots.queued() == 1);
        clock.advance(Duration.ofSeconds(2).minusNanos(CostlyChecks.COSTLY_MICROS * 1_000 + 1));
        assertFalse(late.isDone(), "still waiting before the deadline");
        clock.advance(Duration.ofNanos(1));
        assertEquals(Match.TOO_BUSY, late.get(), "answered while the slot is still taken");
        assertEquals(0, slots.queued(), "it left the line");
        release.countDown();
        assertEquals(Match.MATCHED, busy.get());
        assertEquals(1, slots.available(), "the slot is back, none lost");
        assertEquals(1, most.get());
    }

    /** Too little time left for the check itself: too busy at once, without queueing. */
    @Test
    void aCheckWithLessTimeLeftThanItNeedsIsTooBusyAtOnce() throws Exception {
        CostlyChecks slots = new CostlyChecks(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        Scheme.Check slow = blocking(CostlyChecks.COSTLY_MICROS, release, running, most);
        Future<Match> busy = threads.submit(() -> slots.check(slow, new byte[1], in(Duration.ofSeconds(60))));
        until(() -> running.get() == 1);
        Deadline soon = in(Duration.ofNanos(CostlyChecks.COSTLY_MICROS * 1_000));
        assertEquals(Match.TOO_BUSY, slots.check(slow, new byte[1], soon));
        assertEquals(0, slots.queued());
        release.countDown();
        assertEquals(Match.MATCHED, busy.get());
    }

    /** A slot freed while checks wait goes to the first of them, not to one arriving later. */
    @Test
    void slotsGoToTheWaitingChecksInArrivalOrder() throws Exception {
        CostlyChecks slots = new CostlyChecks(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        Scheme.Check slow = blocking(CostlyChecks.COSTLY_MICROS, release, running, most);
        Deadline deadline = in(Duration.ofSeconds(9));
        Future<Match> first = threads.submit(() -> slots.check(slow, new byte[1], deadline));
        until(() -> running.get() == 1);
        StringBuffer order = new StringBuffer();
        Scheme.Check a = Scheme.Check.costing(CostlyChecks.COSTLY_MICROS, p -> order.append('a') != null);
        Scheme.Check b = Scheme.Check.costing(CostlyChecks.COSTLY_MICROS, p -> order.append('b') != null);
        Future<Match> fa = threads.submit(() -> slots.check(a, new byte[1], deadline));
        until(() -> slots.queued() == 1);
        Future<Match> fb = threads.submit(() -> slots.check(b, new byte[1], deadline));
        until(() -> slots.queued() == 2);
        release.countDown();
        assertEquals(Match.MATCHED, first.get());
        assertEquals(Match.MATCHED, fa.get());
        assertEquals(Match.MATCHED, fb.get());
        assertEquals("ab", order.toString());
        assertEquals(1, slots.available());
    }

    @Test
    void withoutADeadlineACheckWaitsForItsSlot() throws Exception {
        CostlyChecks slots = new CostlyChecks(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        Scheme.Check slow = blocking(CostlyChecks.COSTLY_MICROS, release, running, most);
        Future<Match> busy = threads.submit(() -> slots.check(slow, new byte[1], Deadline.NONE));
        until(() -> running.get() == 1);
        Future<Match> waiting = threads.submit(() -> slots.check(slow, new byte[1], Deadline.NONE));
        until(() -> slots.queued() == 1);
        release.countDown();
        assertEquals(Match.MATCHED, busy.get());
        assertEquals(Match.MATCHED, waiting.get());
    }

    @Test
    void atLeastOneSlot() {
        assertThrows(IllegalArgumentException.class, () -> new CostlyChecks(0));
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
