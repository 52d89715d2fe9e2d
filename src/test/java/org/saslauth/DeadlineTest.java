package org.saslauth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DeadlineTest {

    private final ManualClock clock = new ManualClock();

    @Test
    void timeLeftFallsWithTheClockAndStopsAtZero() {
        Deadline d = Deadline.in(clock, Duration.ofSeconds(9));
        assertEquals(Duration.ofSeconds(9).toNanos(), d.nanosLeft());
        clock.advanceMillis(8999);
        assertEquals(Duration.ofMillis(1).toNanos(), d.nanosLeft());
        assertFalse(d.passed());
        clock.advanceMillis(1);
        assertTrue(d.passed());
        clock.advanceMillis(5000);
        assertEquals(0, d.nanosLeft());
    }

    @Test
    void noneNeverPasses() {
        assertEquals(Long.MAX_VALUE, Deadline.NONE.nanosLeft());
        assertFalse(Deadline.NONE.passed());
        assertSame(Deadline.NONE, Deadline.NONE.shortened(Duration.ofSeconds(5).toNanos()));
    }

    @Test
    void atMostKeepsTheEarlierOfTheDeadlineAndTheLimit() {
        Deadline d = Deadline.in(clock, Duration.ofSeconds(9));
        assertSame(d, d.atMost(Duration.ofSeconds(10)));
        assertEquals(Duration.ofSeconds(4).toNanos(), d.atMost(Duration.ofSeconds(4)).nanosLeft());
        Deadline capped = Deadline.NONE.atMost(Duration.ofSeconds(4));
        assertSame(Clock.SYSTEM, capped.clock(), "none is read on the system clock");
        assertTrue(capped.nanosLeft() <= Duration.ofSeconds(4).toNanos());
        clock.advanceMillis(7000);
        assertEquals(Duration.ofSeconds(2).toNanos(), d.atMost(Duration.ofSeconds(4)).nanosLeft(),
                "time already spent is not given back");
    }

    @Test
    void shortenedEndsThatMuchEarlier() {
        Deadline d = Deadline.in(clock, Duration.ofSeconds(2));
        Deadline early = d.shortened(Duration.ofMillis(500).toNanos());
        assertEquals(Duration.ofMillis(1500).toNanos(), early.nanosLeft());
        clock.advanceMillis(1500);
        assertTrue(early.passed());
        assertFalse(d.passed());
    }

    /** A wait on a clock moved by hand ends once the clock passes the deadline. */
    @Test
    void awaitEndsWhenTheClockPassesTheDeadline() throws Exception {
        Deadline d = Deadline.in(clock, Duration.ofSeconds(3));
        AtomicInteger waits = new AtomicInteger();
        CompletableFuture<Boolean> result = CompletableFuture.supplyAsync(() -> {
            try {
                return d.await(nanos -> {
                    waits.incrementAndGet();
                    return false;
                });
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        while (waits.get() < 2) {
            Thread.onSpinWait();
        }
        assertFalse(result.isDone());
        clock.advanceMillis(3000);
        assertFalse(result.get(), "the deadline came first");
    }

    @Test
    void awaitReturnsOnceTheWaitSucceedsAndTriesOnceMoreAtTheDeadline() throws Exception {
        Deadline d = Deadline.in(clock, Duration.ofSeconds(3));
        assertTrue(d.await(nanos -> nanos > 0));
        clock.advanceMillis(3000);
        AtomicInteger tries = new AtomicInteger();
        assertTrue(d.await(nanos -> {
            tries.incrementAndGet();
            return nanos == 0;
        }), "a last look without waiting");
        assertEquals(1, tries.get());
    }
}
