package org.saslauth.penalty;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.saslauth.Clock;

/**
 * The penalty store of one process: the same rules as the Redis store's script, on the
 * engine's clock, in maps that forget their least recently used entries beyond a bound, so
 * that a flood of addresses or names holds no more than a few megabytes.
 */
final class MemoryStore implements PenaltyStore {

    static final int MAX_ENTRIES = 8192;

    private final PenaltyPolicy policy;
    private final Clock clock;
    /** Made at the first failure, not at start. */
    private byte[] key;

    /** Failures of one address within its window, and its bans. */
    private static final class AddressState {
        long windowEnd;
        final Set<String> users = new HashSet<>();
        final Set<Integer> guesses = new HashSet<>();
        long bannedUntil;
        long nth;
        /** Until when {@link #nth} is remembered. */
        long nthUntil;
        String network = "";
    }

    /** Failures of one user within its window, and its protection. */
    private static final class UserState {
        long windowEnd;
        final Set<String> addresses = new HashSet<>();
        final Set<Integer> guesses = new HashSet<>();
        long protectedUntil;
        long count;
    }

    private final Map<String, AddressState> addresses = lru();
    /** When the last ban to end ends: before it, a failure looks for its /24's bans. */
    private long bansUntil;
    private final Map<String, UserState> users = lru();
    /** user NUL network: until when a login from that network is known for that user. */
    private final Map<String, Long> known = lru();

    MemoryStore(PenaltyPolicy policy, Clock clock) {
        this.policy = policy;
        this.clock = clock;
    }

    private static <V> Map<String, V> lru() {
        return new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, V> eldest) {
                return size() > MAX_ENTRIES;
            }
        };
    }

    private long now() {
        return clock.nanoTime() / 1_000_000L;
    }

    @Override
    public synchronized boolean banned(String address) {
        AddressState a = addresses.get(address);
        return a != null && a.bannedUntil > now();
    }

    @Override
    public synchronized boolean refusesUnchecked(String rip, String user, String network) {
        long now = now();
        return !policy.exempt().contains(rip) && isProtected(user, now) && !isKnown(user, network, now);
    }

    private boolean isProtected(String user, long now) {
        UserState u = users.get(user);
        if (u == null || u.protectedUntil == 0) {
            return false;
        }
        if (u.protectedUntil > now) {
            return true;
        }
        u.protectedUntil = 0;
        PenaltyLog.unprotected(user);
        return false;
    }

    private boolean isKnown(String user, String network, long now) {
        Long until = known.get(user + '\0' + network);
        return until != null && until > now;
    }

    @Override
    public synchronized Outcome record(Attempt at, boolean right) {
        long now = now();
        boolean exempt = policy.exempt().contains(at.rip());
        boolean slowed = slowed(at.network(), now);
        AddressState a = addresses.get(at.address());
        if (!exempt && a != null && a.bannedUntil > now) {
            return new Outcome(Verdict.BANNED, slowed);
        }
        boolean refused = !exempt && isProtected(at.user(), now) && !isKnown(at.user(), at.network(), now);
        if (right && !refused) {
            known.put(at.user() + '\0' + at.network(), now + policy.knownFor().toMillis());
            return new Outcome(Verdict.AS_CHECKED, slowed);
        }
        if (a == null) {
            a = new AddressState();
            addresses.put(at.address(), a);
        }
        a.network = at.network();
        if (a.windowEnd <= now) {
            a.windowEnd = now + policy.window().toMillis();
            a.users.clear();
            a.guesses.clear();
        }
        if (a.users.size() < policy.banUsers()) {
            a.users.add(at.user());
        }
        if (at.guess().isPresent() && a.guesses.size() < policy.banGuesses()) {
            a.guesses.add(at.guess().getAsInt());
        }
        if (!exempt && (a.users.size() >= policy.banUsers() || a.guesses.size() >= policy.banGuesses())) {
            a.nth = a.nthUntil > now ? a.nth + 1 : 1;
            a.nthUntil = now + policy.banMax().toMillis();
            Duration time = policy.ban((int) Math.min(a.nth, 64));
            a.bannedUntil = now + time.toMillis();
            bansUntil = Math.max(bansUntil, a.bannedUntil);
            PenaltyLog.banned(at.rip(), at.address(), time, a.users.size(), a.guesses.size(), a.nth);
            a.users.clear();
            a.guesses.clear();
            a.windowEnd = 0;
            slowed = slowed(at.network(), now);
        }
        UserState u = users.get(at.user());
        if (u == null) {
            u = new UserState();
            users.put(at.user(), u);
        }
        if (u.windowEnd <= now) {
            u.windowEnd = now + policy.userWindow().toMillis();
            u.addresses.clear();
            u.guesses.clear();
        }
        if (u.addresses.size() < policy.protectAddresses()) {
            u.addresses.add(at.address());
        }
        if (at.guess().isPresent() && u.guesses.size() < policy.protectPasswords()) {
            u.guesses.add(at.guess().getAsInt());
        }
        if (u.addresses.size() >= policy.protectAddresses() || u.guesses.size() >= policy.protectPasswords()) {
            if (u.protectedUntil <= now) {
                PenaltyLog.protecting(at.user(), policy.protectTime(), u.addresses.size(), u.guesses.size());
            }
            u.protectedUntil = now + policy.protectTime().toMillis();
            u.count = u.addresses.size();
        }
        return new Outcome(refused ? Verdict.PROTECTED : Verdict.AS_CHECKED, slowed);
    }

    /** Whether the network holds {@link PenaltyPolicy#prefixBans} banned addresses. */
    private boolean slowed(String network, long now) {
        if (network.indexOf(':') >= 0 || bansUntil <= now) {
            return false; // an IPv6 prefix is one client already; no ban at all
        }
        int n = 0;
        for (AddressState a : addresses.values()) {
            if (a.bannedUntil > now && a.network.equals(network) && ++n >= policy.prefixBans()) {
                return true;
            }
        }
        return false;
    }

    /** Bans known from elsewhere (the shared store's answers), kept here for a while. */
    synchronized void banFor(String address, long millis) {
        AddressState a = addresses.computeIfAbsent(address, k -> new AddressState());
        a.bannedUntil = Math.max(a.bannedUntil, now() + millis);
        bansUntil = Math.max(bansUntil, a.bannedUntil);
    }

    @Override
    public synchronized byte[] guessKey() {
        if (key == null) {
            key = new byte[32];
            new SecureRandom().nextBytes(key);
        }
        return key;
    }

    @Override
    public synchronized List<Ban> bans() {
        long now = now();
        List<Ban> out = new ArrayList<>();
        for (Map.Entry<String, AddressState> e : addresses.entrySet()) {
            if (e.getValue().bannedUntil > now) {
                out.add(new Ban(e.getKey(), Duration.ofMillis(e.getValue().bannedUntil - now), e.getValue().nth));
            }
        }
        return out;
    }

    @Override
    public synchronized List<Protection> protections() {
        long now = now();
        List<Protection> out = new ArrayList<>();
        for (Map.Entry<String, UserState> e : users.entrySet()) {
            if (e.getValue().protectedUntil > now) {
                out.add(new Protection(e.getKey(), Duration.ofMillis(e.getValue().protectedUntil - now),
                        e.getValue().count));
            }
        }
        return out;
    }

    @Override
    public synchronized boolean clearAddress(String address) {
        return addresses.remove(address) != null;
    }

    @Override
    public synchronized boolean clearUser(String user) {
        return users.remove(user) != null; // its known networks stay: they are the owner's
    }

    @Override
    public String describe() {
        return "memory";
    }

    @Override
    public void close() {}
}
