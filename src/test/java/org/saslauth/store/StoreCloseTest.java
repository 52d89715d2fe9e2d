package org.saslauth.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.saslauth.Deadline;
import org.saslauth.password.CostlyChecks;
import org.saslauth.store.CredentialStore.Verdict;

/** {@link CredentialStore#close}: what a store holds is let go at the end of serving, and nothing answers OK after. */
class StoreCloseTest {

    private static final CostlyChecks SLOTS = CostlyChecks.perProcessor();

    /** A store that accepts one password until closed, then is down. */
    private static final class Closing implements CredentialStore {
        final AtomicBoolean closed = new AtomicBoolean();

        @Override
        public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
            if (closed.get()) {
                return Verdict.UNAVAILABLE;
            }
            return new String(password, StandardCharsets.UTF_8).equals("right") ? Verdict.ACCEPTED : Verdict.WRONG_PASSWORD;
        }

        @Override
        public void close() {
            closed.set(true);
        }
    }

    @Test
    void theCacheClosesTheStoreBehindItAndForgetsItsAnswers() {
        Closing backend = new Closing();
        CachedStore cache = new CachedStore(backend, Duration.ofMinutes(5), Duration.ofMinutes(5), 10);
        assertEquals(Verdict.ACCEPTED, cache.verify("alice", "right".getBytes(StandardCharsets.UTF_8), SLOTS, Deadline.NONE));
        cache.close();
        assertTrue(backend.closed.get(), "closed behind the cache");
        assertEquals(Verdict.UNAVAILABLE, cache.verify("alice", "right".getBytes(StandardCharsets.UTF_8), SLOTS, Deadline.NONE),
                "no remembered OK from a closed store");
    }

    @Test
    void aStoreWithNothingToCloseClosesQuietly() {
        CredentialStore.NONE.close();
        assertEquals(Verdict.UNKNOWN_USER, CredentialStore.NONE.verify("alice", new byte[] {'x'}, SLOTS, Deadline.NONE));
    }

    /** A closed directory store opens no connection and answers a temporary failure at once. */
    @Test
    void aClosedLdapStoreStartsNoWorkerAndIsUnavailable() throws InvalidStoreConfig {
        LdapStore store = LdapStore.open(new LdapStore.Config("ldap://127.0.0.1:1", false, null, null, null,
                "dc=example", "(mail=%u)", false, "userPassword", "SHA512-CRYPT", 1, false));
        store.close();
        Set<String> before = ldapWorkers();
        assertEquals(Verdict.UNAVAILABLE, store.verify("alice", "right".getBytes(StandardCharsets.UTF_8), SLOTS, Deadline.NONE));
        assertTrue(store.lookup("alice", Deadline.NONE) instanceof CredentialStore.Lookup.Unavailable);
        assertEquals(before, ldapWorkers(), "no worker thread after the close");
    }

    private static Set<String> ldapWorkers() {
        Set<String> names = new TreeSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            // the UnboundID LDAP SDK's reader of each connection
            if (t.getName().startsWith("Connection reader for")) {
                names.add(t.getName());
            }
        }
        return names;
    }
}
