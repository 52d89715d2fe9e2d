package org.saslauth.penalty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.saslauth.Clock;
import org.saslauth.penalty.PenaltyStore.Attempt;
import org.saslauth.penalty.PenaltyStore.Verdict;

/** The policy of the memory store, on a clock moved by hand. */
class MemoryStoreTest {

    long nanos = 1_000_000_000L;
    final Clock clock = () -> nanos;
    final PenaltyPolicy policy = PenaltyPolicy.DEFAULTS;
    final MemoryStore store = new MemoryStore(policy, clock);

    void minutes(long m) {
        nanos += Duration.ofMinutes(m).toNanos();
    }

    Verdict fail(String address, String user, int guess) {
        return store.record(new Attempt(address, address, network(address), user, OptionalInt.of(guess)), false).verdict();
    }

    Verdict ok(String address, String user) {
        return store.record(new Attempt(address, address, network(address), user, OptionalInt.empty()), true).verdict();
    }

    static String network(String address) {
        return address.substring(0, address.lastIndexOf('.')) + ".0/24";
    }

    @Test
    void failuresInSeparateWindowsDoNotAddUp() {
        for (int window = 0; window < 5; window++) {
            for (int i = 0; i < policy.banUsers() - 1; i++) {
                fail("192.0.2.1", "u" + window + "-" + i, i);
            }
            minutes(16);
        }
        assertFalse(store.banned("192.0.2.1"));
    }

    @Test
    void oneWrongPasswordRetriedCountsOnce() {
        for (int i = 0; i < 1000; i++) {
            fail("192.0.2.1", "phone", 42);
        }
        assertFalse(store.banned("192.0.2.1"));
    }

    @ParameterizedTest
    @CsvSource({"1, 15", "2, 30", "3, 60", "4, 120", "7, 960", "8, 1440", "30, 1440"})
    void banTimesDoubleUpToTheLongest(int nth, long minutes) {
        assertEquals(Duration.ofMinutes(minutes), policy.ban(nth));
    }

    @Test
    void aBanIsAnsweredBannedEvenForARightPasswordAndEnds() {
        for (int i = 0; i < policy.banUsers(); i++) {
            fail("192.0.2.1", "u" + i, i);
        }
        assertTrue(store.banned("192.0.2.1"));
        assertEquals(Verdict.BANNED, ok("192.0.2.1", "u1"));
        assertEquals(1, store.bans().size());
        minutes(15);
        assertFalse(store.banned("192.0.2.1"));
        assertEquals(Verdict.AS_CHECKED, ok("192.0.2.1", "u1"));
        assertEquals(0, store.bans().size());
    }

    @Test
    void aKnownNetworkIsForgottenAfterKnownFor() {
        ok("192.0.2.50", "victim");
        for (int i = 0; i < policy.protectAddresses(); i++) {
            fail("10.0." + i + ".1", "victim", i);
        }
        assertFalse(store.refusesUnchecked("192.0.2.60", "victim", "192.0.2.0/24"), "its known /24");
        assertTrue(store.refusesUnchecked("198.51.100.1", "victim", "198.51.100.0/24"));
        minutes(Duration.ofDays(31).toMinutes());
        for (int i = 0; i < policy.protectAddresses(); i++) {
            fail("10.1." + i + ".1", "victim", 100 + i);
        }
        assertTrue(store.refusesUnchecked("192.0.2.60", "victim", "192.0.2.0/24"), "not seen for 31 days");
    }

    @Test
    void theProtectionEndsAnHourAfterItsLastFailureAndTheEndIsLogged() throws Exception {
        for (int i = 0; i < policy.protectAddresses(); i++) {
            fail("10.0." + i + ".1", "victim", i);
        }
        minutes(30);
        fail("10.0.99.1", "victim", 99); // over the threshold still: an hour more
        minutes(45);
        assertTrue(store.refusesUnchecked("198.51.100.1", "victim", "198.51.100.0/24"));
        assertEquals(1, store.protections().size());
        minutes(16);
        var run = org.saslauth.protocol.CapturedLog.capture(
                () -> store.refusesUnchecked("198.51.100.1", "victim", "198.51.100.0/24"));
        assertFalse(run.result());
        assertTrue(String.join("\n", run.log().events()).contains("penalty: user=\"victim\" no longer protected"),
                run.log().events().toString());
    }

    /** A botnet of 19 addresses, each under the ban thresholds and one short of protectAddresses. */
    @Test
    void manyGuessesOnOneUserFromFewAddressesProtectItToo() {
        ok("192.0.2.50", "victim");
        int guess = 0;
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < policy.protectAddresses() - 1; i++) {
                fail("10.0." + i + ".1", "victim", guess++);
            }
        }
        assertEquals(38, guess);
        assertFalse(store.banned("10.0.1.1"), "no address banned");
        assertTrue(store.refusesUnchecked("10.0.1.1", "victim", "10.0.1.0/24"), "30 passwords protect it");
        assertFalse(store.refusesUnchecked("192.0.2.60", "victim", "192.0.2.0/24"), "its known network");
    }

    @Test
    void clearingLiftsABanAndAProtection() {
        for (int i = 0; i < policy.banUsers(); i++) {
            fail("192.0.2.1", "victim", i);
        }
        for (int i = 0; i < policy.protectAddresses(); i++) {
            fail("10.0." + i + ".1", "victim", i);
        }
        assertTrue(store.clearAddress("192.0.2.1"));
        assertTrue(store.clearUser("victim"));
        assertFalse(store.banned("192.0.2.1"));
        assertFalse(store.refusesUnchecked("198.51.100.1", "victim", "198.51.100.0/24"));
        assertFalse(store.clearAddress("192.0.2.1"), "nothing left");
    }

    /** A flood of addresses holds no more than the bound. */
    @Test
    void theMapsAreBounded() {
        for (int i = 0; i < 3 * MemoryStore.MAX_ENTRIES; i++) {
            fail("10." + (i >> 16) + "." + ((i >> 8) & 255) + "." + (i & 255), "u" + i, i);
        }
        assertTrue(store.bans().isEmpty());
        assertTrue(store.protections().size() <= MemoryStore.MAX_ENTRIES);
    }

    @ParameterizedTest
    @CsvSource({"192.0.2.0/24, 192.0.2.77, true", "192.0.2.0/24, 192.0.3.1, false", "2001:db8::/32, 2001:db8:1::5, true",
        "2001:db8::/32, 2001:db9::5, false", "192.0.2.7, ::ffff:192.0.2.7, true", "10.0.0.0/8, not-an-address, false"})
    void exemptNetworks(String list, String rip, boolean exempt) {
        assertEquals(exempt, Exempt.parse(list).contains(rip));
    }
}
