package org.saslauth.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.saslauth.Deadline;
import org.saslauth.ManualClock;
import org.saslauth.password.CostlyChecks;
import org.saslauth.password.ScramHash;
import org.saslauth.password.ScramShape;
import org.saslauth.store.CredentialStore.Checked;
import org.saslauth.store.CredentialStore.Verdict;

/** The auth cache in front of a store that counts its lookups. */
class CachedStoreTest {

    /** Slots for slow hashes, this test's own. */
    static final CostlyChecks SLOTS = new CostlyChecks(2);

    private final AtomicInteger asked = new AtomicInteger();
    private final AtomicReference<String> alicePassword = new AtomicReference<>("alice-password");
    private final AtomicReference<Boolean> down = new AtomicReference<>(false);

    private final CredentialStore backend = new CredentialStore() {
        @Override
        public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
            return check(user, password, slots, deadline).verdict();
        }

        @Override
        public Checked check(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
            asked.incrementAndGet();
            if (down.get()) {
                return new Checked(Verdict.UNAVAILABLE, user);
            }
            if (!user.equalsIgnoreCase("alice@example.org")) {
                return new Checked(Verdict.UNKNOWN_USER, user);
            }
            return new Checked(new String(password, StandardCharsets.UTF_8).equals(alicePassword.get())
                    ? Verdict.ACCEPTED : Verdict.WRONG_PASSWORD, "alice@example.org");
        }
    };

    private static byte[] pw(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aSuccessIsRememberedWithItsCanonicalName() {
        CachedStore cache = new CachedStore(backend, Duration.ofMinutes(1), Duration.ZERO, 100);
        assertEquals(new Checked(Verdict.ACCEPTED, "alice@example.org"), cache.check("ALICE@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        assertEquals(new Checked(Verdict.ACCEPTED, "alice@example.org"), cache.check("ALICE@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        assertEquals(1, asked.get());
        down.set(true);
        assertEquals(Verdict.ACCEPTED, cache.verify("ALICE@example.org", pw("alice-password"), SLOTS, Deadline.NONE), "from the cache");
        assertEquals(Verdict.UNAVAILABLE, cache.verify("ALICE@example.org", pw("other"), SLOTS, Deadline.NONE), "a new password asks the store");
        assertEquals(2, asked.get());
    }

    /**
     * With a success remembered and the store refusing everything else (or down), no password but
     * the remembered one is answered from the cache: not a prefix, an extension, another case, one
     * byte changed, the empty password, nor the remembered password under another user name.
     */
    @Test
    void onlyTheRememberedPasswordIsServedFromTheCache() {
        for (boolean storeDown : new boolean[] {false, true}) {
            asked.set(0);
            down.set(false);
            CachedStore cache = new CachedStore(backend, Duration.ofMinutes(1), Duration.ofMinutes(1), 100);
            assertEquals(Verdict.ACCEPTED, cache.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
            down.set(storeDown);
            byte[] nul = pw("alice-password\0");
            for (byte[] guess : new byte[][] {pw("alice-passwor"), pw("alice-passwordX"), pw("Alice-password"),
                pw("alice-passwore"), pw(""), nul, pw("alice-password ")}) {
                Verdict v = cache.verify("alice@example.org", guess, SLOTS, Deadline.NONE);
                assertEquals(storeDown ? Verdict.UNAVAILABLE : Verdict.WRONG_PASSWORD, v,
                        "[" + new String(guess, StandardCharsets.UTF_8) + "] is asked of the store");
            }
            assertEquals(storeDown ? Verdict.UNAVAILABLE : Verdict.UNKNOWN_USER,
                    cache.verify("bob@example.org", pw("alice-password"), SLOTS, Deadline.NONE), "another user, the same password");
            assertEquals(storeDown ? Verdict.UNAVAILABLE : Verdict.UNKNOWN_USER,
                    cache.verify("alice@example.or", pw("galice-password"), SLOTS, Deadline.NONE), "the same bytes cut elsewhere");
            assertEquals(10, asked.get(), "every guess went to the store");
            assertEquals(Verdict.ACCEPTED, cache.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE),
                    "the remembered success is still there");
            assertEquals(10, asked.get());
        }
    }

    /** A wrong password given while the entry lives does not make the cache accept it afterwards. */
    @Test
    void aWrongPasswordStaysWrongAfterTheStoreAnsweredIt() {
        CachedStore cache = new CachedStore(backend, Duration.ofMinutes(1), Duration.ofMinutes(1), 100);
        assertEquals(Verdict.ACCEPTED, cache.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.WRONG_PASSWORD, cache.verify("alice@example.org", pw("guess"), SLOTS, Deadline.NONE));
        down.set(true);
        assertEquals(Verdict.UNAVAILABLE, cache.verify("alice@example.org", pw("guess"), SLOTS, Deadline.NONE), "not remembered as good");
        assertEquals(Verdict.ACCEPTED, cache.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
    }

    /** SIGHUP in a daemon empties the cache: the next login asks the store. */
    @Test
    void reloadEmptiesTheCache() {
        CachedStore cache = new CachedStore(backend, Duration.ofMinutes(1), Duration.ZERO, 100);
        assertEquals(Verdict.ACCEPTED, cache.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        cache.reload();
        down.set(true);
        assertEquals(Verdict.UNAVAILABLE, cache.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
    }

    @Test
    void anotherPasswordAsksTheStoreAndWrongOnesAreNotRemembered() {
        CachedStore cache = new CachedStore(backend, Duration.ofMinutes(1), Duration.ZERO, 100);
        assertEquals(Verdict.ACCEPTED, cache.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        alicePassword.set("new-password");
        assertEquals(Verdict.ACCEPTED, cache.verify("alice@example.org", pw("new-password"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.WRONG_PASSWORD, cache.verify("alice@example.org", pw("guess"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.WRONG_PASSWORD, cache.verify("alice@example.org", pw("guess"), SLOTS, Deadline.NONE));
        assertEquals(4, asked.get());
        assertEquals(Verdict.ACCEPTED, cache.verify("alice@example.org", pw("new-password"), SLOTS, Deadline.NONE));
        assertEquals(4, asked.get());
    }

    @Test
    void entriesExpireAndUnavailableIsNeverRemembered() {
        ManualClock clock = new ManualClock();
        CachedStore cache = new CachedStore(backend, Duration.ofMillis(50), Duration.ZERO, 100, clock);
        down.set(true);
        assertEquals(Verdict.UNAVAILABLE, cache.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        down.set(false);
        assertEquals(Verdict.ACCEPTED, cache.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        clock.advanceMillis(49);
        assertEquals(Verdict.ACCEPTED, cache.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        assertEquals(2, asked.get(), "remembered within the TTL");
        clock.advanceMillis(1);
        assertEquals(Verdict.ACCEPTED, cache.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        assertEquals(3, asked.get(), "asked again once the TTL is over");
    }

    @Test
    void unknownUsersForTheNegativeTtlOnly() {
        CachedStore none = new CachedStore(backend, Duration.ofMinutes(1), Duration.ZERO, 100);
        none.verify("zed@example.org", pw("x"), SLOTS, Deadline.NONE);
        none.verify("zed@example.org", pw("x"), SLOTS, Deadline.NONE);
        assertEquals(2, asked.get());
        CachedStore negative = new CachedStore(backend, Duration.ofMinutes(1), Duration.ofMinutes(1), 100);
        assertEquals(Verdict.UNKNOWN_USER, negative.verify("zed@example.org", pw("x"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.UNKNOWN_USER, negative.verify("zed@example.org", pw("y"), SLOTS, Deadline.NONE));
        assertEquals(3, asked.get());
    }

    @Test
    void sizeIsBoundedAndClearEmptiesIt() {
        CachedStore cache = new CachedStore(backend, Duration.ofMinutes(1), Duration.ofMinutes(1), 3);
        for (int i = 0; i < 10; i++) {
            cache.verify("user" + i + "@example.org", pw("x"), SLOTS, Deadline.NONE);
        }
        assertEquals(3, cache.size());
        cache.clear();
        assertEquals(0, cache.size());
    }

    /**
     * Regression (issue 19, finding 9): a check in flight when SIGHUP flushed the cache stored the
     * old password afterwards, and the next login with it was OK from the cache.
     */
    @Test
    void aCheckInFlightDuringAFlushIsNotRemembered() throws Exception {
        CountDownLatch inStore = new CountDownLatch(1);
        CountDownLatch flushed = new CountDownLatch(1);
        CredentialStore slow = new CredentialStore() {
            @Override
            public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
                return check(user, password, slots, deadline).verdict();
            }

            @Override
            public Checked check(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
                String now = alicePassword.get(); // read before the change, as a slow query would
                inStore.countDown();
                try {
                    flushed.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                asked.incrementAndGet();
                return new Checked(new String(password, StandardCharsets.UTF_8).equals(now)
                        ? Verdict.ACCEPTED : Verdict.WRONG_PASSWORD, user);
            }
        };
        CachedStore cache = new CachedStore(slow, Duration.ofMinutes(1), Duration.ZERO, 100);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<Verdict> inFlight = pool.submit(() -> cache.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
            inStore.await();
            alicePassword.set("new-password"); // the password changes, then SIGHUP
            cache.reload();
            flushed.countDown();
            assertEquals(Verdict.ACCEPTED, inFlight.get(), "the answer of its time");
            assertEquals(0, cache.size(), "not remembered: computed before the flush");
            assertEquals(Verdict.WRONG_PASSWORD, cache.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE),
                    "the old password asks the store again");
            assertEquals(2, asked.get());
        } finally {
            pool.shutdownNow();
        }
    }

    /** The shape SCRAM shows users without keys is the store's: the cache keeps no entries. */
    @Test
    void theScramShapeIsTheStores() {
        CredentialStore store = new CredentialStore() {
            @Override
            public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
                return Verdict.UNKNOWN_USER;
            }

            @Override
            public ScramShape scramShape(ScramHash hash) {
                return new ScramShape(hash == ScramHash.SHA_256 ? 10000 : 5000, 24, false);
            }
        };
        CachedStore cache = new CachedStore(store, Duration.ofMinutes(1), Duration.ofMinutes(1), 3);
        assertEquals(new ScramShape(10000, 24, false), cache.scramShape(ScramHash.SHA_256));
        assertEquals(new ScramShape(5000, 24, false), cache.scramShape(ScramHash.SHA_1));
    }
}
