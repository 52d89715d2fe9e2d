package org.saslauth.password;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.saslauth.Clock;
import org.saslauth.Deadline;

/**
 * A check that cannot end by its deadline is not started, even with a slot free: it would hold
 * the slot for an answer nobody reads, when slots are scarce.
 */
class CostlyChecksPastDeadlineTest {

    @Test
    void aCheckThatCannotEndByTheDeadlineIsNotStarted() {
        long[] now = {1_000_000_000L};
        Clock clock = () -> now[0];
        CostlyChecks slots = new CostlyChecks(1);
        AtomicBoolean ran = new AtomicBoolean();
        Scheme.Check oneSecond = Scheme.Check.costing(1_000_000, password -> { // an Argon2id of 1 s
            ran.set(true);
            return true;
        });
        Deadline passed = Deadline.at(clock, now[0] - 1); // the request's deadline is behind us
        Match m = slots.check(oneSecond, new byte[] {'x'}, passed);
        assertEquals(Match.TOO_BUSY, m, "ran=" + ran.get());
    }
}
