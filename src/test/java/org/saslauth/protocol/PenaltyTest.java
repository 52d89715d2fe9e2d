package org.saslauth.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class PenaltyTest {

    static final Duration BASE = Duration.ofSeconds(2);
    final Penalty penalty = new Penalty();
    long now = 1_000_000_000L;

    Duration fail(String rip, int guess) {
        now += 1_000_000L;
        return penalty.failed(rip, OptionalInt.of(guess), BASE, now);
    }

    @Test
    void growsWithNewGuessesAndIsCappedAtFiveSeconds() {
        assertEquals(Duration.ofSeconds(2), fail("192.0.2.1", 1));
        assertEquals(Duration.ofSeconds(2), fail("192.0.2.1", 2));
        assertEquals(Duration.ofSeconds(3), fail("192.0.2.1", 3));
        assertEquals(Duration.ofSeconds(4), fail("192.0.2.1", 4));
        assertEquals(Duration.ofSeconds(5), fail("192.0.2.1", 5));
        for (int i = 6; i < 100; i++) {
            assertEquals(Duration.ofSeconds(5), fail("192.0.2.1", i));
        }
    }

    @Test
    void repeatingTheSameWrongPasswordDoesNotGrowIt() {
        for (int i = 0; i < 50; i++) {
            assertEquals(BASE, fail("192.0.2.1", 42));
        }
        assertEquals(1, penalty.failures("192.0.2.1"));
    }

    @Test
    void addressesAreSeparateAndSuccessForgives() {
        for (int i = 0; i < 5; i++) {
            fail("192.0.2.1", i);
        }
        assertEquals(BASE, fail("192.0.2.2", 1));
        penalty.succeeded("192.0.2.1");
        assertEquals(BASE, fail("192.0.2.1", 99));
    }

    @Test
    void forgottenAfterQuietTime() {
        for (int i = 0; i < 5; i++) {
            fail("192.0.2.1", i);
        }
        now += Penalty.FORGET.toNanos() + 1;
        assertEquals(BASE, fail("192.0.2.1", 100));
    }

    /** Clients that sent no address are one client of their own (issue 19, finding 3). */
    @Test
    void noAddressIsOneClientAndNeverAboveTheCap() {
        assertEquals(BASE, fail("", 1));
        assertEquals(BASE, fail("", 2));
        assertEquals(BASE.plusSeconds(1), fail("", 3));
        assertEquals(BASE, fail("192.0.2.1", 4), "apart from the clients that sent one");
        assertEquals(Penalty.CAP, penalty.failed("192.0.2.9", OptionalInt.empty(), Duration.ofSeconds(9), now));
    }
}
