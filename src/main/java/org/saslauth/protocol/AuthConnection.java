package org.saslauth.protocol;

import static org.saslauth.Log.LOG;
import static org.saslauth.Log.quote;

import java.io.Flushable;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Base64;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.RejectedExecutionException;
import org.saslauth.Deadline;
import org.saslauth.Pid;
import org.saslauth.mech.Exchange;
import org.saslauth.mech.Mechanism;
import org.saslauth.mech.Step;

/**
 * One client connection of Dovecot's auth client protocol (version 1): the handshake, the
 * pending exchanges and their limits, the failure delay, one final reply per id. Lines are
 * pushed in by whoever reads the connection ({@link AuthServer} under spawn(8), a daemon's
 * selector); replies go to a {@link ReplyChannel}.
 *
 * <p>Exchange steps, which may check a password, run on the service's executor, so that no
 * reply waits for another exchange's password check and the reading thread never blocks on
 * one; each id has at most one step running. A FAIL is held back by the failure delay, counted
 * from the arrival of the request it answers, on the service's timer. All state is guarded by
 * one lock, which replies are written under.
 */
public final class AuthConnection implements Flushable {

    /** Failure replies waiting for their delay beyond which a connection is considered a flood. */
    static final int MAX_DELAYED = 4096;

    /** Warnings logged at once per connection before they are folded into a count. */
    static final int WARNINGS_BEFORE_FOLDING = 20;

    private static final Base64.Decoder BASE64_IN = Base64.getDecoder();
    private static final Base64.Encoder BASE64_OUT = Base64.getEncoder();

    /** An exchange that has not had its final reply. */
    private static final class Pending {
        final String id;
        final Mechanism mechanism;
        final Exchange exchange;
        final String rip;
        /** The client as the penalty counts it: {@link ClientAddress#key}. */
        final String client;
        /** Whether a step of it is running; its reply is then on its way. */
        boolean busy;
        /** When its last challenge went out: it waits for a CONT since. */
        long idleSince;
        /** What it holds of the service's {@link PendingBudget}, given back when it ends. */
        long charged;
        /** The part of {@link #charged} for the initial response, given back once the first step is done. */
        long initialCharged;
        /** A CONT sent ahead of its challenge was refused for want of budget: the exchange cannot go on. */
        boolean starved;
        /** CONTs that came while a step was running, handled in order once it is answered. */
        final ArrayDeque<Early> early = new ArrayDeque<>(2);

        Pending(String id, Mechanism mechanism, Exchange exchange, String rip, String client) {
            this.id = id;
            this.mechanism = mechanism;
            this.exchange = exchange;
            this.rip = rip;
            this.client = client;
        }
    }

    /** A CONT pipelined ahead of the challenge it answers. */
    private record Early(Request.Cont cont, long arrival) {}

    /** CONTs kept per exchange while a step runs; a client sends one per challenge. */
    static final int MAX_EARLY = 8;

    private final AuthService service;
    private final Settings settings;
    private final ReplyChannel out;
    private final Object lock = new Object();
    private final Map<String, Pending> pending = new LinkedHashMap<>();
    /** Ids whose FAIL waits for the failure delay: that FAIL is the id's one reply. */
    private final Set<String> held = new HashSet<>();
    /** What {@link #finishThen} runs once the last reply due is out; null when nothing waits. */
    private Runnable afterLastReply;
    private final RateLimit rate;
    private int running;
    /** Whether a {@link Sweep} for idle exchanges is on the timer. */
    private boolean sweepScheduled;
    /** Set while a pushed line is handled: replies written then wait for {@link #flush()}. */
    private boolean receiving;
    /** The connection ends: the reader stops, nothing new is started. */
    private boolean ending;
    /** The peer is gone: results are dropped. */
    private boolean closed;
    /** Too many failures held back: steps not yet started are dropped, held FAILs still go out. */
    private boolean flooded;
    private int status;
    /** Whether the client sent {@code VERSION 1}, and its {@code CPID}: together, its handshake. */
    private boolean versionSeen;
    private String clientPid;
    private int warnings;
    private long foldedSince;
    private int folded;

    AuthConnection(AuthService service, ReplyChannel out) {
        this.service = service;
        this.settings = service.settings;
        this.out = out;
        this.rate = new RateLimit(settings.maxAuthRate(), service.scheduler.nanoTime());
    }

    /** Sends the handshake at once, MECH before SPID, without waiting for the client's. */
    public void start() {
        StringBuilder hs = new StringBuilder(256).append("VERSION\t1\t2\n");
        for (Mechanism m : settings.mechanisms().enabled()) {
            hs.append("MECH\t").append(m.name());
            for (Mechanism.Flag f : Mechanism.Flag.values()) { // in order; no stream before the handshake
                if (m.flags().contains(f)) {
                    hs.append('\t').append(f.wire());
                }
            }
            hs.append('\n');
        }
        // COOKIE only matters to master REQUEST lookups, which saslauth does not serve; Dovecot's
        // strict client library still insists on seeing one.
        SplittableRandom random = new SplittableRandom(System.nanoTime() ^ (Pid.CURRENT << 32));
        hs.append("SPID\t").append(Pid.CURRENT).append('\n')
                .append("CUID\t1\n")
                .append("COOKIE\t");
        appendHex(hs, random.nextLong()); // not String.format: its parser is slow to start
        appendHex(hs, random.nextLong());
        hs.append("\nDONE\n");
        synchronized (lock) {
            out.write(hs.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
        }
    }

    /** 16 lower-case hex digits. */
    private static void appendHex(StringBuilder sb, long value) {
        String hex = Long.toHexString(value);
        sb.append("0".repeat(16 - hex.length())).append(hex);
    }

    /**
     * Handles one line (without its LF), or the head of a line that was too long. Replies that
     * are due at once are written but not flushed: call {@link #flush()} before waiting for the
     * next line.
     *
     * @return false when the connection must end: an unsupported version, a flood, a reused id
     *     whose reply is on its way, or a peer that stopped reading
     */
    public boolean receive(byte[] line, boolean overflow) {
        long arrival = service.scheduler.nanoTime();
        synchronized (lock) {
            if (ending) {
                return false;
            }
            receiving = true;
            try {
                if (overflow) {
                    overflow(line);
                } else {
                    handle(Request.parse(new String(line, StandardCharsets.UTF_8)), arrival);
                }
            } finally {
                receiving = false;
            }
            if (out.isBroken()) {
                LOG.info("client closed the connection");
                ending = true;
            }
            return !ending;
        }
    }

    /** Sends the replies written so far. */
    @Override
    public void flush() {
        synchronized (lock) {
            out.flush();
        }
    }

    /**
     * End of input: starts nothing new, waits up to {@code max} for the steps running and the
     * failure replies held back, and flushes them.
     */
    public void finish(Duration max) {
        long deadline = System.nanoTime() + max.toNanos();
        synchronized (lock) {
            ending = true;
            dropWaiting();
            out.flush();
            long left;
            while (repliesDue() && (left = deadline - System.nanoTime()) > 0) {
                try {
                    lock.wait(left / 1_000_000 + 1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            out.flush();
            LOG.debug("end of input, {} exchange(s) left unfinished", pending.size());
        }
    }

    /**
     * End of input, without waiting: starts nothing new, and runs {@code done} (once, on whichever
     * thread sends the last reply due, or on the timer after {@code max}) when the steps running
     * and the failure replies held back are out. A daemon ends connections this way, so that one
     * whose replies are still due holds no thread.
     */
    public void finishThen(Duration max, Runnable done) {
        synchronized (lock) {
            ending = true;
            dropWaiting();
            out.flush();
            afterLastReply = done;
        }
        settle();
        synchronized (lock) {
            if (afterLastReply == null) {
                return; // done already: no timer keeps this connection reachable
            }
        }
        service.scheduler.schedule(() -> {
            synchronized (lock) {
                out.flush();
            }
            runAfterLastReply();
        }, max.toNanos());
    }

    /** Whether a step is running or a FAIL held back, and the client can still be written to. */
    private boolean repliesDue() {
        return (running > 0 || !held.isEmpty()) && !out.isBroken();
    }

    /** Runs the {@link #finishThen} task if nothing more is due (or the peer is gone). */
    private void settle() {
        synchronized (lock) {
            if (afterLastReply == null || (repliesDue() && !closed)) {
                return;
            }
            out.flush();
            LOG.debug("end of input, {} exchange(s) left unfinished", pending.size());
        }
        runAfterLastReply();
    }

    private void runAfterLastReply() {
        Runnable done;
        synchronized (lock) {
            done = afterLastReply;
            afterLastReply = null;
            if (done != null) { // the connection is over: whatever is still pending holds nothing more
                endAll();
            }
        }
        if (done != null) {
            done.run();
        }
    }

    /** The peer is gone: nothing more is written, results still on their way are dropped. */
    public void close() {
        synchronized (lock) {
            ending = true;
            closed = true;
            endAll();
        }
        settle();
    }

    /**
     * Whether the client's handshake is complete: {@code VERSION 1} and {@code CPID}, as Dovecot
     * requires both before anything else counts (a daemon closes a connection without them).
     */
    public boolean handshakeDone() {
        synchronized (lock) {
            return versionSeen && clientPid != null;
        }
    }

    /** The client's {@code CPID} as sent, or "-" before it came. */
    public String clientPid() {
        synchronized (lock) {
            return clientPid == null ? "-" : clientPid;
        }
    }

    /** 0, or {@link AuthServer#UNSUPPORTED_VERSION} when the client spoke another version. */
    public int status() {
        synchronized (lock) {
            return status;
        }
    }

    // --- requests, with the lock held ------------------------------------------------------------

    private void handle(Request request, long arrival) {
        if (request instanceof Request.Auth a) {
            auth(a, arrival);
        } else if (request instanceof Request.Cont c) {
            cont(c, arrival);
        } else if (request instanceof Request.Malformed m) {
            malformed(m);
        } else if (request instanceof Request.Version v) {
            if (!v.major().equals("1")) {
                LOG.error("client speaks protocol version {}, only 1 is supported; closing", quote(v.major(), 16));
                status = AuthServer.UNSUPPORTED_VERSION;
                ending = true;
            } else {
                versionSeen = true;
            }
        } else if (request instanceof Request.Cpid c) {
            if (clientPid == null) {
                clientPid = c.pid();
            }
            if (isNumber(c.pid())) {
                LOG.debug("client pid {}", c.pid());
            } else {
                warn("client pid that is not a number ({} bytes)", c.pid().length());
            }
        } else if (request instanceof Request.Unknown u) {
            if (u.length() > 0) { // only a word that looks like a command: a mangled line may hold credentials
                warn("ignoring unknown command {} ({} bytes)",
                        ResultLog.bare(u.command(), 16, true, "") ? u.command() : "-", u.length());
            }
        }
    }

    private void auth(Request.Auth a, long arrival) {
        String id = a.id();
        Pending old = pending.get(id);
        if (old != null && !old.busy) {
            end(id);
            warn("id {} reused while its exchange was pending: both ended", id);
            sendFail(id, Optional.empty(), "Duplicate request id", false);
            return;
        }
        if (old != null || held.contains(id)) {
            // Its one final reply is on its way; Dovecot disconnects such a client too.
            LOG.warn("id {} reused while its reply is on its way: closing the connection", id);
            ending = true;
            return;
        }
        long now = service.scheduler.nanoTime();
        String client = ClientAddress.key(a.rip(), settings.ipv6Prefix());
        if (!rate.tryAcquire(now) || !service.addressRates.tryAcquire(client, now)) {
            if (rate.shouldLog(now)) {
                LOG.warn("more than {} AUTH requests a second: refusing them (rip={})",
                        settings.maxAuthRate(), ResultLog.address(a.rip()));
            }
            sendFail(id, Optional.empty(), "Too many requests", true);
            return;
        }
        Optional<Mechanism> mech = settings.mechanisms().find(a.mechanism());
        if (mech.isEmpty()) {
            ResultLog.failed(id, a.mechanism(), a.rip(), Optional.empty(), "unsupported mechanism");
            sendFail(id, Optional.empty(), "Unsupported authentication mechanism", false);
            return;
        }
        Optional<byte[]> initial;
        String resp = a.response().orElse(null);
        if (resp == null) {
            initial = Optional.empty();
        } else if (resp.isEmpty() || resp.equals("=")) {
            initial = Optional.of(new byte[0]);
        } else {
            byte[] decoded = decode(resp);
            if (decoded == null) {
                ResultLog.failed(id, mech.get().name(), a.rip(), Optional.empty(), "invalid base64");
                fail(id, client, Optional.empty(), "Invalid base64 data in initial response", false,
                        OptionalInt.empty(), arrival);
                return;
            }
            initial = Optional.of(decoded);
        }
        long cost = PendingBudget.EXCHANGE + (resp == null ? 0 : resp.length());
        if (!service.budget.take(cost, now)) { // logged by the budget, not as a failed login
            sendFail(id, Optional.empty(), Step.Reason.OVERLOADED.clientText(), true);
            return;
        }
        Pending p = new Pending(id, mech.get(), mech.get().newExchange(settings.credentials()), a.rip(), client);
        p.charged = cost;
        p.initialCharged = cost - PendingBudget.EXCHANGE;
        pending.put(id, p);
        LOG.debug("AUTH id={} mech={} rip={} initial response: {}", id, p.mechanism.name(),
                ResultLog.address(a.rip()), initial.isPresent() ? "yes" : "no");
        run(p, arrival, initial, null);
    }

    private void cont(Request.Cont c, long arrival) {
        String id = c.id();
        Pending p = pending.get(id);
        if (p == null && held.contains(id)) {
            warn("CONT for id {} whose failure reply is being delayed: ignored", id);
            return;
        }
        if (p == null) {
            warn("CONT for unknown id {}", id);
            sendFail(id, Optional.empty(), "Unknown request id", false);
            return;
        }
        if (p.busy) {
            if (p.early.size() >= MAX_EARLY) {
                warn("more than {} CONTs for id {} ahead of its challenges: ignored", MAX_EARLY, id);
            } else if (!service.budget.take(c.response().length(), arrival)) {
                p.starved = true; // answered with a temporary failure once its step is done
            } else { // pipelined ahead of the challenge: handled in order once the step is done
                p.charged += c.response().length();
                p.early.add(new Early(c, arrival));
            }
            return;
        }
        byte[] response = decode(c.response());
        if (response == null) {
            end(id);
            ResultLog.failed(id, p.mechanism.name(), p.rip, Optional.empty(), "invalid base64");
            fail(id, p.client, Optional.empty(), "Invalid base64 data in continued response", false,
                    OptionalInt.empty(), arrival);
            return;
        }
        run(p, arrival, null, response);
    }

    private void malformed(Request.Malformed m) {
        Optional<String> id = m.id();
        if (id.isPresent() && !held.contains(id.get()) && !isBusy(id.get())) {
            end(id.get());
            warn("{} for id {}", m.what(), id.get());
            sendFail(id.get(), Optional.empty(), "Malformed request", false);
        } else if (id.isPresent()) {
            warn("ignoring {} for id {}, whose reply is on its way", m.what(), id.get());
        } else {
            warn("ignoring {} ({} bytes)", m.what(), m.idLength());
        }
    }

    private void overflow(byte[] head) {
        String[] f = new String(head, StandardCharsets.UTF_8).split("\t", -1);
        warn("line longer than {} bytes from client", AuthServer.MAX_LINE);
        boolean request = f[0].equals("AUTH") || f[0].equals("CONT");
        if (request && f.length > 2 && Request.validId(f[1]) && !held.contains(f[1]) && !isBusy(f[1])) {
            Pending p = end(f[1]);
            ResultLog.failed(f[1], p == null ? (f[0].equals("AUTH") ? f[2] : "?") : p.mechanism.name(),
                    p == null ? "" : p.rip, Optional.empty(), "line too long");
            sendFail(f[1], Optional.empty(), "Line too long", false);
        }
    }

    private boolean isBusy(String id) {
        Pending p = pending.get(id);
        return p != null && p.busy;
    }

    // --- steps ------------------------------------------------------------------------------------

    /**
     * Runs the exchange's first step ({@code response} null) or next step on the executor, or
     * here for a mechanism that checks no password. The step's answer is written under the lock.
     */
    private void run(Pending p, long arrival, Optional<byte[]> initial, byte[] response) {
        p.busy = true;
        running++;
        StepTask step = new StepTask(p, arrival, initial, response);
        if (!p.mechanism.needsCredentials()) {
            step.run();
            return;
        }
        try {
            service.checks.execute(step);
        } catch (RejectedExecutionException e) {
            running--;
            end(p.id);
            ResultLog.failed(p.id, p.mechanism.name(), p.rip, Optional.empty(), "no worker free");
            sendFail(p.id, Optional.empty(), Step.Reason.OVERLOADED.clientText(), true);
        }
    }

    /** One step of an exchange, and the writing of its answer. */
    private final class StepTask implements Runnable {
        private final Pending p;
        private final long arrival;
        private final Optional<byte[]> initial;
        private final byte[] response;

        StepTask(Pending p, long arrival, Optional<byte[]> initial, byte[] response) {
            this.p = p;
            this.arrival = arrival;
            this.initial = initial;
            this.response = response;
        }

        @Override
        public void run() {
            boolean dropped = false;
            synchronized (lock) {
                if (closed || flooded || out.isBroken()) { // nobody to answer
                    running--;
                    p.busy = false;
                    if (pending.get(p.id) == p) {
                        end(p.id);
                    }
                    dropped = true;
                    lock.notifyAll();
                }
            }
            if (dropped) {
                settle();
                return;
            }
            Step result;
            if (service.scheduler.nanoTime() - arrival > AuthService.MAX_QUEUE_WAIT.toNanos()) {
                result = Step.Failure.of(Step.Reason.OVERLOADED);
            } else {
                Deadline due = Deadline.at(service.scheduler, arrival + AuthService.ANSWER_WITHIN.toNanos());
                try {
                    result = response == null ? p.exchange.start(initial, due) : p.exchange.next(response, due);
                } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
                    LOG.error("mechanism {} failed on id {}", p.mechanism.name(), p.id, e);
                    result = Step.Failure.of(Step.Reason.INTERNAL_ERROR);
                }
            }
            synchronized (lock) {
                running--;
                p.busy = false;
                if (response == null) { // the initial response is no longer held
                    long back = Math.min(p.initialCharged, p.charged);
                    service.budget.give(back);
                    p.charged -= back;
                    p.initialCharged = 0;
                }
                if (!closed) {
                    answer(p, result, arrival);
                    Early next;
                    while ((next = p.early.poll()) != null) { // one step at a time while it lasts
                        long back = Math.min(next.cont().response().length(), p.charged);
                        service.budget.give(back);
                        p.charged -= back;
                        cont(next.cont(), next.arrival());
                        if (pending.get(p.id) == p) {
                            break;
                        }
                    }
                    if (!receiving) {
                        out.flush();
                    }
                }
                lock.notifyAll();
            }
            settle();
        }
    }

    private void answer(Pending p, Step step, long arrival) {
        if (pending.get(p.id) != p) {
            return; // ended meanwhile (a reused id): its one reply has gone out
        }
        if (step instanceof Step.Challenge c) {
            if (p.starved) {
                end(p.id);
                sendFail(p.id, Optional.empty(), Step.Reason.OVERLOADED.clientText(), true);
                return;
            }
            send("CONT\t" + p.id + "\t" + BASE64_OUT.encodeToString(c.data()));
            if (ending && p.early.isEmpty()) { // sent, but no CONT can come any more
                end(p.id);
                return;
            }
            p.idleSince = service.scheduler.nanoTime();
            scheduleSweep(AuthService.EXCHANGE_TIMEOUT.toNanos());
            evictOldest();
        } else if (step instanceof Step.Success s) {
            end(p.id);
            if (settings.penalty()) {
                service.penalty.succeeded(p.client);
            }
            ResultLog.ok(p.id, p.mechanism.name(), p.rip, s.user());
            send("OK\t" + p.id + "\tuser=" + Escaping.escape(s.user()));
        } else if (step instanceof Step.Failure fl) {
            end(p.id);
            ResultLog.failed(p.id, p.mechanism.name(), p.rip, fl.user(), fl.logText());
            fail(p.id, p.client, fl.user(), fl.reason().clientText(), fl.reason().temporary(), fl.guess(), arrival);
        }
    }

    /** A FAIL held back by the failure delay (and the penalty of {@code client}), counted from {@code arrival}. */
    private void fail(String id, String client, Optional<String> user, String reason, boolean temporary,
            OptionalInt guess, long arrival) {
        Duration delay = settings.failureDelay();
        long now = service.scheduler.nanoTime();
        if (settings.penalty() && !temporary) {
            delay = service.penalty.failed(client, guess, delay, now);
        }
        // Counted from the request's arrival, so that the time spent checking a password (a
        // known user) does not set its FAIL apart from an unknown user's.
        long left = delay.toNanos() - (now - arrival);
        if (left <= 0) {
            sendFail(id, user, reason, temporary);
            return;
        }
        if (held.size() >= MAX_DELAYED) {
            if (!flooded) {
                LOG.warn("more than {} failure replies waiting: closing the connection", MAX_DELAYED);
            }
            ending = true;
            flooded = true;
            return;
        }
        held.add(id);
        service.scheduler.schedule(new HeldFail(id, user, reason, temporary), left);
    }

    /** A FAIL sent when its delay is over. */
    private final class HeldFail implements Runnable {
        private final String id;
        private final Optional<String> user;
        private final String reason;
        private final boolean temporary;

        HeldFail(String id, Optional<String> user, String reason, boolean temporary) {
            this.id = id;
            this.user = user;
            this.reason = reason;
            this.temporary = temporary;
        }

        @Override
        public void run() {
            synchronized (lock) { // the id is free again once, and only once, its FAIL is out
                held.remove(id);
                if (!closed) {
                    sendFail(id, user, reason, temporary);
                    out.flush();
                }
                lock.notifyAll();
            }
            settle();
        }
    }

    /** A cancelled SMTP AUTH never reaches the helper: its exchange would stay pending forever. */
    private void evictOldest() {
        Iterator<Pending> it = pending.values().iterator();
        while (pending.size() > settings.maxPending() && it.hasNext()) {
            Pending old = it.next();
            if (old.busy) {
                continue;
            }
            it.remove();
            release(old);
            LOG.info("dropping abandoned exchange id={} mech={} ({} pending is the limit)",
                    old.id, old.mechanism.name(), settings.maxPending());
            sendFail(old.id, Optional.empty(), "Abandoned request", false);
        }
    }

    /** At the end of input: exchanges waiting for a CONT will never have one, and hold nothing more. */
    private void dropWaiting() {
        int dropped = 0;
        for (Iterator<Pending> it = pending.values().iterator(); it.hasNext(); ) {
            Pending p = it.next();
            if (!p.busy) {
                it.remove();
                release(p);
                dropped++;
            }
        }
        if (dropped > 0) {
            LOG.debug("end of input, {} exchange(s) waiting for a CONT dropped", dropped);
        }
    }

    /** Ends every exchange, giving back what they held. */
    private void endAll() {
        pending.values().forEach(this::release);
        pending.clear();
    }

    /** Ends the exchange of {@code id}, if there is one, and gives back what it held. */
    private Pending end(String id) {
        Pending p = pending.remove(id);
        if (p != null) {
            release(p);
        }
        return p;
    }

    private void release(Pending p) {
        service.budget.give(p.charged);
        p.charged = 0;
    }

    private void scheduleSweep(long delayNanos) {
        if (!sweepScheduled) {
            sweepScheduled = true;
            service.scheduler.schedule(new Sweep(this), delayNanos);
        }
    }

    /**
     * Ends the exchanges that have waited {@link AuthService#EXCHANGE_TIMEOUT} for a CONT, and
     * comes back when the next one would. One per connection is on the timer at most.
     */
    private static final class Sweep implements Runnable {
        /** Weak: a connection that is gone must not stay in memory until its sweep is due. */
        private final java.lang.ref.WeakReference<AuthConnection> connection;

        Sweep(AuthConnection connection) {
            this.connection = new java.lang.ref.WeakReference<>(connection);
        }

        @Override
        public void run() {
            AuthConnection c = connection.get();
            if (c != null) {
                c.sweep();
            }
        }
    }

    private void sweep() {
        synchronized (lock) {
            sweepScheduled = false;
            if (ending) {
                return; // dropped at the end of input
            }
            long timeout = AuthService.EXCHANGE_TIMEOUT.toNanos();
            long now = service.scheduler.nanoTime();
            long next = Long.MAX_VALUE;
            boolean wrote = false;
            for (Iterator<Pending> it = pending.values().iterator(); it.hasNext(); ) {
                Pending p = it.next();
                if (p.busy) {
                    continue;
                }
                long idle = now - p.idleSince;
                if (idle < timeout) {
                    next = Math.min(next, timeout - idle);
                    continue;
                }
                it.remove();
                release(p);
                LOG.info("ending exchange id={} mech={}: no answer to its challenge for {} s",
                        p.id, p.mechanism.name(), AuthService.EXCHANGE_TIMEOUT.toSeconds());
                sendFail(p.id, Optional.empty(), "Request timed out", false);
                wrote = true;
            }
            if (next != Long.MAX_VALUE) {
                scheduleSweep(next);
            }
            if (wrote) {
                out.flush();
            }
        }
    }

    private void sendFail(String id, Optional<String> user, String reason, boolean temporary) {
        StringBuilder line = new StringBuilder(64).append("FAIL\t").append(id);
        user.ifPresent(u -> line.append("\tuser=").append(Escaping.escape(u)));
        line.append("\treason=").append(Escaping.escape(reason));
        if (temporary) {
            line.append("\tcode=temp_fail");
        }
        send(line.toString());
    }

    private void send(String line) {
        out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /**
     * A warning about the client's input: the first {@value #WARNINGS_BEFORE_FOLDING} of a
     * connection are logged, then at most one a second with the count of those left out, so
     * that a flood of junk cannot fill the disk.
     */
    private void warn(String format, Object... args) {
        if (warnings < WARNINGS_BEFORE_FOLDING) {
            warnings++;
            LOG.warn(format, args);
            return;
        }
        long now = service.scheduler.nanoTime();
        if (folded > 0 && now - foldedSince < 1_000_000_000L) {
            folded++;
            return;
        }
        if (folded > 1) {
            LOG.warn("{} more warnings like these from this client were not logged", folded - 1);
        }
        LOG.warn(format, args);
        folded = 1;
        foldedSince = now;
    }

    private static boolean isNumber(String s) {
        if (s.isEmpty() || s.length() > 10) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }

    private static byte[] decode(String base64) {
        try {
            return BASE64_IN.decode(base64);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
