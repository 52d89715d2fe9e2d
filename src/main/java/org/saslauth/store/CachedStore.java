package org.saslauth.store;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.saslauth.Clock;
import org.saslauth.Deadline;
import org.saslauth.password.CostlyChecks;
import org.saslauth.password.ScramHash;
import org.saslauth.password.ScramShape;

/**
 * A cache in front of a database, directory or program, like Dovecot's auth cache
 * ({@code auth_cache_ttl}, {@code auth_cache_negative_ttl}): a successful login is remembered
 * for the TTL, an unknown user for the negative TTL, so that a client logging in again and again
 * does not cost a query each time.
 *
 * <p>An entry holds the canonical user name and an HMAC-SHA256 of the password under a key made
 * at random when the cache is, never the password. A login whose password does not match the
 * entry asks the store again (the password may have changed), and a wrong password is never
 * remembered. A store that is unavailable is never remembered either, nor an answer that was being computed when the cache was flushed. At most {@code size}
 * users are kept, the least recently used leaving first. {@link #clear} empties it (a daemon
 * calls it on SIGHUP).
 */
public final class CachedStore implements CredentialStore {

    /** A remembered answer; {@code mac} null for an unknown user. */
    private record Entry(String canonical, byte[] mac, long expiresNanos) {}

    private final CredentialStore store;
    private final Clock clock;
    private final long ttlNanos;
    private final long negativeTtlNanos;
    private final Map<String, Entry> entries;
    private final SecretKeySpec key;
    /**
     * Counts the flushes ({@link #clear}), guarded by {@code entries}: an answer is remembered
     * only if no flush came while the store computed it, so that a check that started before a
     * password change and a SIGHUP cannot put the old password back.
     */
    private long generation;

    public CachedStore(CredentialStore store, Duration ttl, Duration negativeTtl, int size) {
        this(store, ttl, negativeTtl, size, Clock.SYSTEM);
    }

    /** @param clock what the TTLs are measured on */
    CachedStore(CredentialStore store, Duration ttl, Duration negativeTtl, int size, Clock clock) {
        this.store = store;
        this.clock = clock;
        this.ttlNanos = ttl.toNanos();
        this.negativeTtlNanos = negativeTtl.toNanos();
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
                return size() > size;
            }
        };
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        this.key = new SecretKeySpec(k, "HmacSHA256");
        java.util.Arrays.fill(k, (byte) 0);
    }

    @Override
    public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
        return check(user, password, slots, deadline).verdict();
    }

    @Override
    public Checked check(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
        byte[] mac = mac(user, password);
        long now = clock.nanoTime();
        Entry e;
        long asked;
        synchronized (entries) {
            e = entries.get(user);
            asked = generation;
        }
        if (e != null && e.expiresNanos() - now > 0) {
            if (e.mac() == null) {
                org.saslauth.Meter.current().cache(true);
                return new Checked(Verdict.UNKNOWN_USER, user);
            }
            if (MessageDigest.isEqual(e.mac(), mac)) {
                org.saslauth.Meter.current().cache(true);
                return new Checked(Verdict.ACCEPTED, e.canonical());
            }
        }
        org.saslauth.Meter.current().cache(false);
        Checked answer = store.check(user, password, slots, deadline);
        if (answer.verdict() == Verdict.ACCEPTED) {
            put(user, new Entry(answer.user(), mac, now + ttlNanos), asked);
        } else if (answer.verdict() == Verdict.UNKNOWN_USER && negativeTtlNanos > 0) {
            put(user, new Entry(user, null, now + negativeTtlNanos), asked);
        } else if (answer.verdict() == Verdict.UNKNOWN_USER || answer.verdict() == Verdict.WRONG_PASSWORD) {
            if (e != null && e.mac() != null && answer.verdict() == Verdict.UNKNOWN_USER) {
                remove(user); // the user is gone
            }
        }
        return answer;
    }

    /** Not cached: mechanisms that need the stored secret ask the store each time. */
    @Override
    public Lookup lookup(String user, Deadline deadline) {
        return store.lookup(user, deadline);
    }

    @Override
    public ScramShape scramShape(ScramHash hash) {
        return store.scramShape(hash);
    }

    /** Forgets every entry. */
    @Override
    public void reload() {
        clear();
        store.reload();
    }

    /** Forgets every answer and closes the store behind the cache. */
    @Override
    public void close() {
        clear();
        store.close();
    }

    public void clear() {
        synchronized (entries) {
            entries.clear();
            generation++;
        }
    }

    int size() {
        synchronized (entries) {
            return entries.size();
        }
    }

    /** Remembers {@code e} unless the cache was flushed since generation {@code asked}. */
    private void put(String user, Entry e, long asked) {
        synchronized (entries) {
            if (generation == asked) {
                entries.put(user, e);
            }
        }
    }

    private void remove(String user) {
        synchronized (entries) {
            entries.remove(user);
        }
    }

    private byte[] mac(String user, byte[] password) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(key);
            m.update(user.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            m.update((byte) 0);
            return m.doFinal(password);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
