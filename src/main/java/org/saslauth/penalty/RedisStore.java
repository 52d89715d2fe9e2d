package org.saslauth.penalty;

import static org.saslauth.Log.LOG;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;
import java.util.function.Function;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.saslauth.Clock;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.exceptions.JedisNoScriptException;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.params.SetParams;
import redis.clients.jedis.resps.ScanResult;

/**
 * The penalty store in Redis (or Valkey), shared by every helper, daemon and host that points at
 * it; its keys expire by themselves. Logins are sent by threads of its own ({@link #send}),
 * as many as have queued up in one pipelined round trip, and each answer is handed on as it
 * comes, so that no worker waits for Redis ({@link #SENDERS} threads do so, each on its own
 * connection). A right password costs three keys of one MGET for the whole round trip (is its
 * address banned, is its user protected, is its network known?) and, once in {@link
 * #REMEMBER_AGAIN}, the write that keeps its network known; a wrong one, or a right one from a
 * banned address or for a protected user, runs
 * the Lua script ({@link #SCRIPT}), which decides on what every server sent it. A ban or refusal
 * it answers is kept here for a while ({@link #LOCAL_FOR} at most), so that this process refuses
 * the next attempts unchecked without asking.
 *
 * <p>Redis down or slow: each wait ends after {@link #WAIT} (connecting, reading); the login is
 * then counted by this process alone ({@link MemoryStore}), as with {@code --penalty-store
 * memory}, and Redis is tried again {@link #RETRY} later. One line is logged when it goes away
 * and one when it is back. Nothing here ever turns a FAIL into an OK: the script can only refuse
 * a login the password check accepted.
 *
 * <p>Guesses are fingerprinted with an HMAC under a key kept in Redis itself (made by the first
 * server that needs it), so that one wrong password retried on any host counts once; while Redis
 * cannot be asked, this process's own key stands in.
 */
final class RedisStore implements PenaltyStore {

    static final Duration WAIT = Duration.ofMillis(50);
    static final Duration RETRY = Duration.ofSeconds(1);
    /** How long a ban or refusal answered by Redis is refused here without asking. */
    static final Duration LOCAL_FOR = Duration.ofSeconds(30);
    static final String NS = "saslauth:";
    /**
     * Threads sending logins at once: each also writes the replies of the logins its round trip
     * answered, which one thread alone would hold up.
     */
    static final int SENDERS = Math.max(2, Math.min(4, Runtime.getRuntime().availableProcessors()));
    /** Logins queued beyond which another sender starts. */
    static final int BUSY = 16;
    /** Logins sent in one round trip at most. */
    static final int MAX_BATCH = 256;
    /** Logins waiting for their round trip beyond which one is counted in this process at once. */
    static final int MAX_QUEUED = 8192;
    /** How long {@link #record(Attempt, boolean)} waits for the sender at most (the first connection included). */
    static final Duration SYNC_WAIT = Duration.ofSeconds(2);
    /** How long {@link #close} waits for the senders' round trips under way, at most. */
    static final Duration CLOSE_WAIT = Duration.ofMillis(300);
    /**
     * How often a right password from a network is told to Redis again, to keep its network
     * known for {@code penalty-known-for}: once is enough for a while, and spares Redis a write
     * per login.
     */
    static final Duration REMEMBER_AGAIN = Duration.ofMinutes(10);

    /**
     * ARGV: address, network, user, guess ('' for none), right (1/0), exempt (1/0), window,
     * ban-users, ban-guesses, ban-time, ban-max, prefix-bans, user-window, protect-addresses,
     * protect-time, known-for, protect-passwords (times in milliseconds). Answers {verdict, ban ms
     * (a new ban), slowed, users, guesses, protection ms (a new protection), addresses, protection
     * (or, when banned, ban) left ms, the ban's number (a new ban), the user's guesses}.
     */
    static final String SCRIPT = String.join("\n",
            "local ns = '" + NS + "'",
            "local addr, net, user, guess = ARGV[1], ARGV[2], ARGV[3], ARGV[4]",
            "local right, exempt = ARGV[5] == '1', ARGV[6] == '1'",
            "local function now()",
            "  local t = redis.call('TIME')",
            "  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)",
            "end",
            "local netKey = ns .. 'netbans:' .. net",
            "local function slowed()",
            "  if string.find(net, ':', 1, true) then return 0 end",
            "  redis.call('ZREMRANGEBYSCORE', netKey, '-inf', now())",
            "  if redis.call('ZCARD', netKey) >= tonumber(ARGV[12]) then return 1 end",
            "  return 0",
            "end",
            "if not exempt then",
            "  local left = redis.call('PTTL', ns .. 'ban:' .. addr)",
            "  if left > 0 then return {'banned', 0, slowed(), 0, 0, 0, 0, left, 0, 0} end",
            "end",
            "local protect = ns .. 'protect:' .. user",
            "local knownKey = ns .. 'known:' .. #net .. ':' .. net .. ':' .. user",
            "local protLeft = redis.call('PTTL', protect)",
            "local refused = false",
            "if protLeft > 0 and not exempt then refused = redis.call('EXISTS', knownKey) == 0 end",
            "if right and not refused then",
            "  redis.call('SET', knownKey, '1', 'PX', ARGV[16])",
            "  return {'ok', 0, 0, 0, 0, 0, 0, protLeft, 0, 0}",
            "end",
            "local function add(key, member, ttl, cap)",
            "  local n = redis.call('SCARD', key)",
            "  if n < cap then redis.call('SADD', key, member) end",
            "  if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, ttl) end",
            "  return redis.call('SCARD', key)",
            "end",
            "local au, ag = ns .. 'ausers:' .. addr, ns .. 'aguesses:' .. addr",
            "local users = add(au, user, ARGV[7], tonumber(ARGV[8]))",
            "local guesses = 0",
            "if guess ~= '' then guesses = add(ag, guess, ARGV[7], tonumber(ARGV[9])) end",
            "local banFor, nth = 0, 0",
            "if not exempt and (users >= tonumber(ARGV[8]) or guesses >= tonumber(ARGV[9])) then",
            "  local nthKey = ns .. 'bans:' .. addr",
            "  nth = redis.call('INCR', nthKey)",
            "  redis.call('PEXPIRE', nthKey, ARGV[11])",
            "  banFor = tonumber(ARGV[10])",
            "  for i = 2, math.min(nth, 64) do banFor = math.min(banFor * 2, tonumber(ARGV[11])) end",
            "  banFor = math.min(banFor, tonumber(ARGV[11]))",
            "  redis.call('SET', ns .. 'ban:' .. addr, nth, 'PX', banFor)",
            "  redis.call('DEL', au, ag)",
            "  redis.call('ZADD', netKey, now() + banFor, addr)",
            "  redis.call('PEXPIRE', netKey, ARGV[11])",
            "end",
            "local addrs = add(ns .. 'uaddrs:' .. user, addr, ARGV[13], tonumber(ARGV[14]))",
            "local uguesses = 0",
            "if guess ~= '' then uguesses = add(ns .. 'uguesses:' .. user, guess, ARGV[13], tonumber(ARGV[17])) end",
            "local protFor = 0",
            "if addrs >= tonumber(ARGV[14]) or uguesses >= tonumber(ARGV[17]) then",
            "  redis.call('SET', protect, addrs, 'PX', ARGV[15])",
            "  if protLeft <= 0 then protFor = tonumber(ARGV[15]) end",
            "  protLeft = tonumber(ARGV[15])",
            "end",
            "local verdict = 'failed'",
            "if refused then verdict = 'protected' end",
            "return {verdict, banFor, slowed(), users, guesses, protFor, addrs, protLeft, nth, uguesses}");

    /** The guess key, made once by whichever server comes first. */
    private static final String KEY_SCRIPT = "local v = redis.call('GET', KEYS[1])\n"
            + "if not v then v = ARGV[1]; redis.call('SET', KEYS[1], v) end\nreturn v";

    private final RedisTarget target;
    private final Optional<String> password;
    private final Duration wait;
    /** {@link #REMEMBER_AGAIN}, or half of penalty-known-for when that is shorter, in nanos. */
    private final long rememberAgain;
    /** When {@link #slow} last logged. Guarded by this. */
    private long slowSaidAt;
    /** Made at the first connection, not before the handshake: the client's classes load then. Guarded by this. */
    private JedisClientConfig config;
    private final PenaltyPolicy policy;
    private final Clock clock;
    private final MemoryStore local;
    private final ConcurrentLinkedDeque<Jedis> idle = new ConcurrentLinkedDeque<>();
    private final String[] thresholds;
    /** Made by a sender, as {@link #config}. */
    private SetParams knownFor;
    /** Logins waiting for {@link #send}: what {@link #MAX_BATCH} at a time go out in one round trip. */
    private final LinkedBlockingQueue<Call> calls = new LinkedBlockingQueue<>(MAX_QUEUED);
    private volatile boolean senderStarted;
    private volatile boolean closed;
    /** The threads that send logins, each on a connection of its own. Guarded by this. */
    private final Thread[] senders = new Thread[SENDERS];
    private volatile String sha;
    private volatile byte[] sharedKey;
    /** When Redis may be tried again after it failed; 0 while it answers. Guarded by this. */
    private long retryAt;
    private boolean down;
    /** Times Redis failed: a sender's connection made before the last one is dropped, not tried. */
    private volatile int outages;
    /** Bans and refusals answered by Redis: address, or user NUL network, to until (nanos). */
    private final Map<String, Long> refusedHere = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
            return size() > MemoryStore.MAX_ENTRIES;
        }
    };
    /** Right passwords told to Redis lately: user NUL network ({@link #rememberKey}), to when (nanos); emptied when full. */
    private final ConcurrentHashMap<String, Long> remembered = new ConcurrentHashMap<>();
    /** Whether {@link #seenProtected} holds anyone. */
    private volatile boolean anyProtected;
    /** Users this process saw protected: the end of their protection is logged here. Guarded by this. */
    private final Map<String, Boolean> seenProtected = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > 1024;
        }
    };

    RedisStore(RedisTarget target, Optional<String> password, PenaltyPolicy policy, Clock clock, Duration wait) {
        this.target = target;
        this.policy = policy;
        this.clock = clock;
        this.local = new MemoryStore(policy, clock);
        this.password = password;
        this.wait = wait;
        this.rememberAgain = Math.min(REMEMBER_AGAIN.toNanos(), policy.knownFor().toNanos() / 2);
        this.thresholds = new String[] {ms(policy.window()), Integer.toString(policy.banUsers()),
            Integer.toString(policy.banGuesses()), ms(policy.banTime()), ms(policy.banMax()),
            Integer.toString(policy.prefixBans()), ms(policy.userWindow()), Integer.toString(policy.protectAddresses()),
            ms(policy.protectTime()), ms(policy.knownFor()), Integer.toString(policy.protectPasswords())};
    }

    private synchronized JedisClientConfig config() {
        if (config == null) {
            DefaultJedisClientConfig.Builder b = DefaultJedisClientConfig.builder()
                    .connectionTimeoutMillis((int) wait.toMillis()).socketTimeoutMillis((int) wait.toMillis())
                    .database(target.database()).ssl(target.tls()).clientName("saslauth");
            if (password.isPresent()) {
                b.password(password.get());
            }
            config = b.build();
        }
        return config;
    }

    private synchronized SetParams knownFor() {
        if (knownFor == null) {
            knownFor = SetParams.setParams().px(policy.knownFor().toMillis());
        }
        return knownFor;
    }

    private static String ms(Duration d) {
        return Long.toString(d.toMillis());
    }

    /** Runs {@code call} on a connection, or returns empty (and counts here) when Redis does not answer. */
    private <T> Optional<T> ask(Function<Jedis, T> call) {
        synchronized (this) {
            if (retryAt != 0 && clock.nanoTime() - retryAt < 0) {
                return Optional.empty();
            }
        }
        Jedis j = null;
        try {
            j = idle.pollFirst();
            if (j == null) {
                j = new Jedis(new HostAndPort(target.host(), target.port()), config());
            }
            int outage = outages;
            T result = call.apply(j);
            idle.offerFirst(j);
            up(outage);
            return Optional.of(result);
        } catch (JedisException | IllegalStateException | ClassCastException e) {
            if (j != null) {
                try {
                    j.close();
                } catch (RuntimeException ignored) {
                    // already broken
                }
            }
            down(e);
            return Optional.empty();
        }
    }

    /** An exception's message without anything a server sent that could hold a secret. */
    private static String reason(RuntimeException e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage();
        return root.getClass().getSimpleName() + (m == null ? "" : ": " + m.replace('\n', ' '));
    }

    @Override
    public void warm() {
        startSender();
    }

    @Override
    public boolean answersLater() {
        return true;
    }

    @Override
    public boolean banned(String address) {
        return refusedLocally(address) || down() && local.banned(address);
    }

    @Override
    public boolean refusesUnchecked(String rip, String user, String network) {
        if (policy.exempt().contains(rip)) {
            return false;
        }
        return refusedLocally(user + '\0' + network) || down() && local.refusesUnchecked(rip, user, network);
    }

    private synchronized boolean down() {
        return down;
    }

    private synchronized boolean refusedLocally(String key) {
        Long until = refusedHere.get(key);
        if (until == null) {
            return false;
        }
        if (clock.nanoTime() - until < 0) {
            return true;
        }
        refusedHere.remove(key);
        return false;
    }

    private synchronized void refuseLocally(String key, long leftMillis) {
        long millis = Math.min(leftMillis, LOCAL_FOR.toMillis());
        if (millis > 0) {
            refusedHere.put(key, clock.nanoTime() + millis * 1_000_000L);
        }
    }

    @Override
    public Outcome record(Attempt at, boolean right) {
        Waiter w = new Waiter();
        record(at, right, w);
        return w.outcome(at, right);
    }

    /**
     * Queues the login for a sender ({@link #send}), which sends what has queued up in one pipelined round
     * trip and hands each outcome on; counted here at once while Redis is away, or when the
     * queue is full.
     */
    @Override
    public void record(Attempt at, boolean right, Consumer<Outcome> then) {
        if (retrying() || closed) {
            then.accept(local.record(at, right));
            return;
        }
        Call call = new Call(at, right, then, clock.nanoTime());
        if (!calls.offer(call) || closed && calls.remove(call)) { // full, or closed meanwhile: nobody takes it
            then.accept(local.record(at, right));
            return;
        }
        if (!senderStarted && (senders[0] == null || calls.size() >= BUSY)) {
            startSender();
        }
    }

    private List<String> args(Attempt at, boolean right) {
        List<String> args = new ArrayList<>(17);
        args.add(at.address());
        args.add(at.network());
        args.add(at.user());
        args.add(at.guess().isPresent() ? String.format("%08x", at.guess().getAsInt()) : "");
        args.add(right ? "1" : "0");
        args.add(policy.exempt().contains(at.rip()) ? "1" : "0");
        for (String t : thresholds) {
            args.add(t);
        }
        return args;
    }

    /**
     * Notes that Redis is told of a right password of the user from the network now; whether it
     * was told lately already ({@link #REMEMBER_AGAIN}), and need not be.
     */
    private boolean rememberedLately(Attempt at) {
        return rememberedLately(rememberKey(at));
    }

    /** {@link #rememberedLately(Attempt)} of the attempt whose {@link #rememberKey} is {@code key}. */
    private boolean rememberedLately(String key) {
        long now = clock.nanoTime();
        Long when = remembered.get(key);
        if (when != null && now - when < rememberAgain) {
            return true;
        }
        if (remembered.size() >= MemoryStore.MAX_ENTRIES) {
            remembered.clear(); // told again, once, at worst
        }
        remembered.put(key, now);
        return false;
    }

    /** Whether the network of {@code key} ({@link #rememberKey}) was told to Redis within {@link #rememberAgain}, noting nothing. */
    private boolean toldLately(String key) {
        Long when = remembered.get(key);
        return when != null && clock.nanoTime() - when < rememberAgain;
    }

    /**
     * The keys of one MGET, each once: logins of one round trip often share an address (an
     * office behind one NAT address, a webmail host) or a user, whose keys are asked once.
     */
    private static final class MgetKeys {
        private final Map<String, Integer> places;
        private final List<String> keys;

        MgetKeys(int logins) {
            places = new java.util.HashMap<>(Math.max(16, logins * 4));
            keys = new ArrayList<>(logins * 3);
        }

        /** The place of {@code key} in the MGET's answer, adding it the first time. */
        int place(String key) {
            Integer at = places.putIfAbsent(key, keys.size());
            if (at != null) {
                return at;
            }
            keys.add(key);
            return keys.size() - 1;
        }

        boolean isEmpty() {
            return keys.isEmpty();
        }

        String[] array() {
            return keys.toArray(new String[0]);
        }
    }

    /** Has the user's network told to Redis again at its next right password. */
    private void forget(Attempt at) {
        remembered.remove(rememberKey(at));
    }

    /** What Redis's answer to one login's script means here. */
    private Outcome outcome(Attempt at, boolean right, Object reply) {
        if (!(reply instanceof List<?> r) || r.size() < 10) {
            return local.record(at, right);
        }
        String verdict = String.valueOf(r.get(0));
        long banFor = number(r.get(1));
        boolean slowed = number(r.get(2)) == 1;
        long protFor = number(r.get(5));
        long left = number(r.get(7));
        if (banFor > 0) {
            PenaltyLog.banned(at.rip(), at.address(), Duration.ofMillis(banFor), number(r.get(3)), number(r.get(4)),
                    number(r.get(8)));
            refuseLocally(at.address(), banFor);
        }
        if (protFor > 0) {
            PenaltyLog.protecting(at.user(), Duration.ofMillis(protFor), number(r.get(6)), number(r.get(9)));
        }
        if (verdict.equals("banned")) {
            refuseLocally(at.address(), left);
            return new Outcome(Verdict.BANNED, slowed);
        }
        noteProtection(at.user(), left > 0);
        switch (verdict) {
            case "protected":
                refuseLocally(at.user() + '\0' + at.network(), left);
                forget(at); // Redis does not know the network for the user (any more)
                return new Outcome(Verdict.PROTECTED, slowed);
            case "ok":
                rememberedLately(at); // the script wrote it
                return new Outcome(Verdict.AS_CHECKED, slowed);
            default:
                return new Outcome(Verdict.AS_CHECKED, slowed);
        }
    }

    // --- the sender ------------------------------------------------------------------------------

    /** One login waiting for Redis's answer. */
    private record Call(Attempt attempt, boolean right, Consumer<Outcome> then, long queued) {}

    /** A caller of {@link #record(Attempt, boolean)}, waiting for the sender. */
    private final class Waiter implements Consumer<Outcome> {
        private Outcome outcome;
        private boolean abandoned;

        @Override
        public synchronized void accept(Outcome o) {
            if (!abandoned) {
                outcome = o;
                notifyAll();
            }
        }

        synchronized Outcome outcome(Attempt at, boolean right) {
            long until = System.nanoTime() + SYNC_WAIT.toNanos();
            while (outcome == null) {
                long left = until - System.nanoTime();
                if (left <= 0) { // the sender is stuck (the first connection on a starved machine)
                    abandoned = true;
                    return local.record(at, right);
                }
                try {
                    wait(Math.max(1, left / 1_000_000L));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    abandoned = true;
                    return local.record(at, right);
                }
            }
            return outcome;
        }
    }

    /**
     * Starts the first sender; the others start once logins queue up behind it ({@link
     * #BUSY}), which a spawned helper, one login at a time, never sees.
     */
    private synchronized void startSender() {
        int i = 0;
        while (i < senders.length && senders[i] != null) {
            i++;
        }
        if (i == senders.length || i > 0 && calls.size() < BUSY) {
            return;
        }
        Thread t = new Thread(i == 0 ? this::sendFirst : this::send, "saslauth-penalty-store-" + i);
        t.setDaemon(true);
        senders[i] = t;
        senderStarted = i + 1 == senders.length;
        t.start();
    }

    /** The first sender fetches the guess key before it sends anything. */
    private void sendFirst() {
        guessKey();
        send();
    }

    private synchronized boolean retrying() {
        return retryAt != 0 && clock.nanoTime() - retryAt < 0;
    }

    /**
     * The sender's loop: takes what has queued up (up to {@link #MAX_BATCH} logins) and sends it
     * as one {@link Trip}. A login that has waited {@link #WAIT} already (behind a slow answer)
     * is counted here, as are all of a batch Redis did not answer in time; before the first
     * connection is made (the client's classes are loading), logins wait for it.
     */
    private void send() {
        List<Call> batch = new ArrayList<>(MAX_BATCH);
        Jedis j = null;
        boolean connected = false;
        int outage = 0;
        while (!closed) {
            try {
                batch.add(calls.take());
            } catch (InterruptedException e) {
                break;
            }
            calls.drainTo(batch, MAX_BATCH - 1);
            Trip trip = new Trip(batch);
            try {
                if (retrying() || trip.ageOut(connected) == 0) {
                    continue; // counted here, in finally
                }
                if (j != null && outages != outage) { // Redis failed another sender: this connection is as old
                    close(j);
                    j = null;
                }
                if (j == null) {
                    outage = outages;
                    j = outage == 0 ? idle.pollFirst() : null; // the guess key's, in a helper
                    if (j == null) {
                        j = new Jedis(new HostAndPort(target.host(), target.port()), config());
                    }
                }
                if (sha == null) {
                    sha = j.scriptLoad(SCRIPT);
                }
                trip.first(j);
                up(outage);
                connected = true;
                trip.answerSettled();
                trip.scripts(j);
                trip.remember(j);
            } catch (JedisException | IllegalStateException | ClassCastException e) {
                if (j != null) {
                    close(j);
                    j = null;
                }
                down(e);
                trip.forgetNetworks();
            } catch (RuntimeException e) {
                LOG.error("penalty store {}: the logins of a round trip are counted in this process", target, e);
                if (j != null) {
                    close(j);
                    j = null;
                }
                trip.forgetNetworks();
            } finally {
                trip.settle();
                batch.clear();
            }
        }
        if (j != null) {
            close(j);
        }
        Call c;
        while ((c = calls.poll()) != null) { // closed: no login goes unanswered
            deliver(c, local.record(c.attempt(), c.right()), new boolean[1], 0);
        }
    }

    /**
     * One batch of logins and what Redis answered for each. The first round trip sends a script
     * for each wrong password and one MGET for all the right ones (three keys each, each key
     * once: is the address banned, the user protected, the network known?); a right password
     * with a ban or protection key present, and a script Redis did not know, go out in a second
     * round trip of scripts; the networks of the right passwords not told lately go out last,
     * after every login is answered.
     */
    private final class Trip {
        private final List<Call> batch;
        private final int n;
        private final Outcome[] answers;
        /** What the MGET alone says, should the script not answer. */
        private final Verdict[] presumed;
        private final boolean[] delivered;
        /** Each right password's three keys' places in the MGET's answer (-1: known here, not asked). */
        private final int[] places;
        /** Each right password's {@link #rememberKey}. */
        private final String[] remember;
        /** The logins whose scripts are still to run. */
        private final List<Integer> again = new ArrayList<>();
        private final List<Attempt> toRemember = new ArrayList<>();
        private boolean noScript;

        Trip(List<Call> batch) {
            this.batch = batch;
            this.n = batch.size();
            this.answers = new Outcome[n];
            this.presumed = new Verdict[n];
            this.delivered = new boolean[n];
            this.places = new int[3 * n];
            this.remember = new String[n];
        }

        /** Counts here the logins that have waited {@link #WAIT} already; how many are left. */
        int ageOut(boolean connected) {
            long now = clock.nanoTime();
            int aged = 0;
            for (int i = 0; i < n; i++) {
                Call c = batch.get(i);
                if (connected && now - c.queued() >= WAIT.toNanos()) { // behind a slow answer
                    answers[i] = local.record(c.attempt(), c.right());
                    aged++;
                }
            }
            if (aged > 0) {
                slow(aged);
            }
            return n - aged;
        }

        /** The first round trip, and what its answers settle. */
        void first(Jedis j) {
            Pipeline pl = j.pipelined();
            List<Response<Object>> scripts = new ArrayList<>(n);
            MgetKeys keys = new MgetKeys(n);
            for (int i = 0; i < n; i++) {
                Call c = batch.get(i);
                Attempt at = c.attempt();
                if (answers[i] != null || c.right()) {
                    scripts.add(null);
                    if (answers[i] == null) {
                        places[3 * i] = keys.place(NS + "ban:" + at.address());
                        places[3 * i + 1] = keys.place(NS + "protect:" + at.user());
                        remember[i] = rememberKey(at);
                        // a network told to Redis lately is known there: not asked again
                        places[3 * i + 2] = toldLately(remember[i]) ? -1 : keys.place(knownKey(at));
                    }
                } else {
                    scripts.add(pl.evalsha(sha, List.of(), args(at, false)));
                }
            }
            Response<List<String>> found = keys.isEmpty() ? null : pl.mget(keys.array());
            pl.sync();
            for (int i = 0; i < n; i++) {
                if (answers[i] != null) {
                    continue;
                }
                Call c = batch.get(i);
                if (c.right()) {
                    judgeRight(i, c.attempt(), found.get());
                } else {
                    try {
                        answers[i] = outcome(c.attempt(), false, scripts.get(i).get());
                    } catch (JedisNoScriptException e) { // Redis restarted or flushed its scripts
                        noScript = true;
                        again.add(i);
                    }
                }
            }
        }

        /** Answers what the first round trip settled, at once. */
        void answerSettled() {
            for (int i = 0; i < n; i++) {
                if (answers[i] != null) {
                    deliver(batch.get(i), answers[i], delivered, i);
                }
            }
        }

        /** A right password, by what the MGET found: answered, or left to its script. */
        private void judgeRight(int i, Attempt at, List<String> found) {
            String ban = found.get(places[3 * i]);
            String protect = found.get(places[3 * i + 1]);
            boolean toldLately = places[3 * i + 2] < 0;
            String knownThere = toldLately ? "1" : found.get(places[3 * i + 2]);
            if (ban == null && protect == null) { // neither banned nor protected
                answers[i] = Outcome.CHECKED;
                noteProtection(at.user(), false);
                if (!toldLately && !rememberedLately(remember[i])) {
                    toRemember.add(at);
                }
            } else { // the script decides, as for a failure
                boolean exempt = policy.exempt().contains(at.rip());
                presumed[i] = exempt ? null : ban != null ? Verdict.BANNED
                        : knownThere == null ? Verdict.PROTECTED : null;
                again.add(i);
            }
        }

        /**
         * The scripts left, in a second round trip of their own; those Redis no longer knows the
         * script for (restarted, or SCRIPT FLUSH) once more after loading it. What is still
         * unanswered then is left to {@link #settle}.
         */
        void scripts(Jedis j) {
            if (noScript) {
                reload(j);
            }
            List<Integer> left = again;
            for (int round = 0; round < 2 && !left.isEmpty(); round++) {
                Pipeline p2 = j.pipelined();
                List<Response<Object>> more = new ArrayList<>(left.size());
                for (int i : left) {
                    Call c = batch.get(i);
                    more.add(p2.evalsha(sha, List.of(), args(c.attempt(), c.right())));
                }
                p2.sync();
                List<Integer> unknown = new ArrayList<>();
                for (int x = 0; x < left.size(); x++) {
                    int i = left.get(x);
                    Call c = batch.get(i);
                    Object reply;
                    try {
                        reply = more.get(x).get();
                    } catch (JedisNoScriptException e) {
                        unknown.add(i);
                        continue;
                    }
                    answers[i] = outcome(c.attempt(), c.right(), reply);
                    deliver(c, answers[i], delivered, i);
                }
                if (!unknown.isEmpty()) {
                    reload(j);
                }
                left = unknown;
            }
        }

        /** Loads the script again: Redis lost it, and with it, maybe, its known networks. */
        private void reload(Jedis j) {
            sha = j.scriptLoad(SCRIPT);
            remembered.clear();
        }

        /**
         * The networks of the right passwords, known from now on. A write Redis refuses (out of
         * memory, a read-only replica) is tried again at the next right password.
         */
        void remember(Jedis j) {
            if (toRemember.isEmpty()) {
                return;
            }
            Pipeline p3 = j.pipelined();
            List<Response<String>> sets = new ArrayList<>(toRemember.size());
            for (Attempt at : toRemember) {
                sets.add(p3.set(knownKey(at), "1", knownFor()));
            }
            p3.sync();
            for (int x = 0; x < sets.size(); x++) {
                try {
                    sets.get(x).get();
                } catch (redis.clients.jedis.exceptions.JedisDataException e) {
                    forget(toRemember.get(x));
                }
            }
            toRemember.clear();
        }

        /** Redis failed: the networks not told yet are told once it answers. */
        void forgetNetworks() {
            for (Attempt at : toRemember) {
                forget(at);
            }
            toRemember.clear();
        }

        /** Answers every login not answered yet: counted here, or as the MGET said. */
        void settle() {
            for (int i = 0; i < n; i++) {
                if (!delivered[i]) {
                    Call c = batch.get(i);
                    Outcome o = answers[i] != null ? answers[i]
                            : presumed[i] != null ? new Outcome(presumed[i], false)
                            : local.record(c.attempt(), c.right());
                    deliver(c, o, delivered, i);
                }
            }
        }
    }

    /** Logs, once a minute at most, that logins waited too long for Redis and were counted here. */
    private void slow(int logins) {
        long now = clock.nanoTime();
        synchronized (this) {
            if (slowSaidAt != 0 && now - slowSaidAt < Duration.ofMinutes(1).toNanos()) {
                return;
            }
            slowSaidAt = now;
        }
        LOG.warn("penalty store {} answers slower than {} ms: {} logins counted in this process alone",
                target, WAIT.toMillis(), logins);
    }

    /** What {@link #remembered} knows a right password of the user from the network by. */
    private static String rememberKey(Attempt at) {
        return at.user() + '\0' + at.network();
    }

    /** The key that says the user logged in from the network lately, as the script names it. */
    private static String knownKey(Attempt at) {
        // the script counts the network's bytes (#net)
        return NS + "known:" + at.network().getBytes(StandardCharsets.UTF_8).length + ':' + at.network() + ':'
                + at.user();
    }

    /** Hands a login its outcome, once: marked delivered first, so that nothing it throws answers it twice. */
    private static void deliver(Call c, Outcome o, boolean[] delivered, int i) {
        delivered[i] = true;
        try {
            c.then().accept(o);
        } catch (RuntimeException | Error e) {
            LOG.error("answering a login after the penalty store failed", e);
        }
    }

    /**
     * Redis answered on a connection made after outage number {@code outage}: counting is shared
     * again, unless Redis failed since (another sender's older connection does not undo that).
     */
    private synchronized void up(int outage) {
        if (outage != outages) {
            return;
        }
        if (down) {
            down = false;
            LOG.warn("penalty store {} answers again: counting is shared once more", target);
        }
        retryAt = 0;
    }

    private static void close(Jedis j) {
        try {
            j.close();
        } catch (RuntimeException ignored) {
            // broken already, or closing anyway
        }
    }

    private synchronized void down(RuntimeException e) {
        outages++;
        remembered.clear(); // Redis may have lost them: told again once it answers
        retryAt = clock.nanoTime() + RETRY.toNanos();
        if (!down) {
            down = true;
            LOG.warn("penalty store {} does not answer ({}): counting in this process alone until it does",
                    target, reason(e));
        }
    }

    private void noteProtection(String user, boolean protectedNow) {
        if (!protectedNow && !anyProtected) {
            return; // the common case, without a lock
        }
        synchronized (this) {
            if (protectedNow) {
                seenProtected.put(user, Boolean.TRUE);
            } else if (seenProtected.remove(user) != null) {
                PenaltyLog.unprotected(user);
            }
            anyProtected = !seenProtected.isEmpty();
        }
    }

    private static long number(Object o) {
        return o instanceof Long l ? l : 0;
    }

    @Override
    public byte[] guessKey() {
        byte[] k = sharedKey;
        if (k != null) {
            return k;
        }
        byte[] fresh = new byte[32];
        new SecureRandom().nextBytes(fresh);
        String candidate = HexFormat.of().formatHex(fresh);
        Optional<Object> v = ask(j -> j.eval(KEY_SCRIPT, List.of(NS + "key"), List.of(candidate)));
        if (v.isEmpty() || !(v.get() instanceof String s)) {
            return local.guessKey();
        }
        try { // what is kept in Redis is not the key itself
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(s.getBytes(StandardCharsets.US_ASCII), "HmacSHA256"));
            k = mac.doFinal("saslauth guess fingerprint".getBytes(StandardCharsets.US_ASCII));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
        sharedKey = k;
        return k;
    }

    @Override
    public List<Ban> bans() {
        return ask(j -> {
            List<Ban> out = new ArrayList<>();
            for (String key : scan(j, NS + "ban:*")) {
                long left = j.pttl(key);
                String nth = j.get(key);
                if (left > 0) {
                    out.add(new Ban(key.substring((NS + "ban:").length()), Duration.ofMillis(left),
                            nth == null ? 0 : Long.parseLong(nth)));
                }
            }
            return out;
        }).orElseThrow(() -> new IllegalStateException("penalty store " + target + " does not answer"));
    }

    @Override
    public List<Protection> protections() {
        return ask(j -> {
            List<Protection> out = new ArrayList<>();
            for (String key : scan(j, NS + "protect:*")) {
                long left = j.pttl(key);
                String n = j.get(key);
                if (left > 0) {
                    out.add(new Protection(key.substring((NS + "protect:").length()), Duration.ofMillis(left),
                            n == null ? 0 : Long.parseLong(n)));
                }
            }
            return out;
        }).orElseThrow(() -> new IllegalStateException("penalty store " + target + " does not answer"));
    }

    private static List<String> scan(Jedis j, String pattern) {
        List<String> keys = new ArrayList<>();
        String cursor = ScanParams.SCAN_POINTER_START;
        ScanParams params = new ScanParams().match(pattern).count(1000);
        do {
            ScanResult<String> r = j.scan(cursor, params);
            keys.addAll(r.getResult());
            cursor = r.getCursor();
        } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
        return keys;
    }

    @Override
    public boolean clearAddress(String address) {
        local.clearAddress(address);
        return ask(j -> j.del(NS + "ban:" + address, NS + "bans:" + address, NS + "ausers:" + address,
                NS + "aguesses:" + address) > 0)
                .orElseThrow(() -> new IllegalStateException("penalty store " + target + " does not answer"));
    }

    @Override
    public boolean clearUser(String user) {
        local.clearUser(user);
        return ask(j -> j.del(NS + "protect:" + user, NS + "uaddrs:" + user, NS + "uguesses:" + user) > 0)
                .orElseThrow(() -> new IllegalStateException("penalty store " + target + " does not answer"));
    }

    @Override
    public String describe() {
        return target.toString();
    }

    @Override
    public void close() {
        Thread[] running;
        synchronized (this) {
            closed = true;
            for (Thread t : senders) {
                if (t != null) {
                    t.interrupt();
                }
            }
            running = senders.clone();
        }
        // A round trip under way ends first (each wait is bounded by WAIT): the last login's
        // known-network write, sent after its answer, reaches Redis before a helper exits.
        long until = System.nanoTime() + CLOSE_WAIT.toNanos();
        for (Thread t : running) {
            long left = until - System.nanoTime();
            if (t != null && left > 0 && t != Thread.currentThread()) {
                try {
                    t.join(Math.max(1, left / 1_000_000L));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        Jedis j;
        while ((j = idle.pollFirst()) != null) {
            try {
                j.close();
            } catch (RuntimeException ignored) {
                // closing anyway
            }
        }
    }
}
