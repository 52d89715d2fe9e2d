package org.saslauth.protocol;

import static org.saslauth.Log.LOG;

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
import java.util.concurrent.RejectedExecutionException;
import org.saslauth.Deadline;
import org.saslauth.Meter;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Exchange;
import org.saslauth.mech.Mechanism;
import org.saslauth.mech.Step;
import org.saslauth.penalty.PenaltyStore;

/**
 * The exchanges of one {@link AuthConnection}, as Dovecot's {@code auth-request-handler} keeps
 * them: one pending exchange per id, its steps run on the service's executor, its FAIL held
 * back by the failure delay, and the limits that keep one client from holding more than its
 * share. Every method runs with the connection's lock held, except the tasks, which take it.
 *
 * <p>Each request (an AUTH or a CONT) has a deadline, {@link AuthService#ANSWER_WITHIN} after
 * it arrived: Postfix stops waiting for a reply after 10 s. A step still queued or running then
 * is answered with a temporary failure at its deadline, and its result, when it comes, is
 * dropped; a held FAIL goes out at the deadline at the latest.
 */
final class RequestHandler {

    /** Failure replies waiting for their delay beyond which a connection is considered a flood. */
    static final int MAX_DELAYED = 4096;

    /** CONTs kept per exchange while a step runs; a client sends one per challenge. */
    static final int MAX_EARLY = 8;

    private static final Base64.Decoder BASE64_IN = Base64.getDecoder();
    private static final Base64.Encoder BASE64_OUT = Base64.getEncoder();

    /** No {@link Sweep} is on the timer. */
    private static final long NO_SWEEP = Long.MAX_VALUE;

    /** An exchange that has not had its final reply. */
    private static final class Pending {

        /** Where an exchange is between its steps. */
        enum State {
            /** A step is running or queued; its reply is on its way. */
            STEP_RUNNING,
            /**
             * A step is running, and a CONT sent ahead of its challenge was refused for want of
             * budget: the exchange cannot go on, and ends with a temporary failure once the step
             * is done.
             */
            STARVED,
            /** Its last challenge went out at {@link #since}: it waits for a CONT. */
            WAITING_FOR_CONT,
            /**
             * Its step passed its deadline and was answered with a temporary failure; the step
             * still runs (or waits for a worker) and its result will be dropped.
             */
            OVERDUE
        }

        final String id;
        final Mechanism mechanism;
        final Exchange exchange;
        final String rip;
        /** The client as the penalty counts it: {@link ClientAddress#key}. */
        final String client;
        /** Its network, as the penalty store counts known networks and a /24's bans: {@link ClientAddress#network}. */
        final String network;
        /** {@code service=} of its AUTH, lower case, for app passwords limited to some services. */
        String service = "";
        /** The penalty store said the client's /24 holds many bans: its FAIL waits the longest delay. */
        volatile boolean slowed;
        /** What the penalty store knows of its client, for a mechanism that checks passwords; else null. */
        Gate gate;
        State state = State.STEP_RUNNING;
        /** When its last challenge went out ({@link State#WAITING_FOR_CONT}). */
        long since;
        /** When the reply to the step running is due at the latest. */
        long deadline;
        /** What it holds of the service's {@link PendingBudget}, given back when it ends. */
        long charged;
        /** The part of {@link #charged} for the initial response, given back once the first step is done. */
        long initialCharged;
        /** CONTs that came while a step was running, handled in order once it is answered. */
        final ArrayDeque<Early> early = new ArrayDeque<>(2);

        Pending(String id, Mechanism mechanism, Exchange exchange, String rip, String client) {
            this.id = id;
            this.mechanism = mechanism;
            this.exchange = exchange;
            this.rip = rip;
            this.client = client;
            this.network = ClientAddress.network(client);
        }

        boolean stepRunning() {
            return state == State.STEP_RUNNING || state == State.STARVED;
        }
    }

    /** A CONT pipelined ahead of the challenge it answers. */
    private record Early(Request.Cont cont, long arrival) {}

    private final AuthConnection connection;
    private final AuthService service;
    private final Settings settings;
    private final Object lock;
    private final Map<String, Pending> pending = new LinkedHashMap<>();
    /** Ids whose FAIL waits for the failure delay: that FAIL is the id's one reply. */
    private final Set<String> held = new HashSet<>();
    private final RateLimit rate;
    /** Steps whose reply is still due: running or queued, and not yet answered at their deadline. */
    private int running;
    /** When the earliest {@link Sweep} on the timer is due, or {@link #NO_SWEEP}. */
    private long sweepAt = NO_SWEEP;

    RequestHandler(AuthConnection connection) {
        this.connection = connection;
        this.service = connection.service;
        this.settings = service.settings;
        this.lock = connection.lock;
        this.rate = new RateLimit(settings.maxAuthRate(), service.scheduler.nanoTime());
    }

    // --- requests --------------------------------------------------------------------------------

    void auth(Request.Auth a, long arrival) {
        String id = a.id();
        Pending old = pending.get(id);
        if (old != null && old.state == Pending.State.WAITING_FOR_CONT) {
            end(id);
            connection.warn("id {} reused while its exchange was pending: both ended", id);
            sendFail(id, old.mechanism.name(), Optional.empty(), "Duplicate request id", false);
            return;
        }
        if (old != null || held.contains(id)) {
            // Its one final reply is on its way; Dovecot disconnects such a client too.
            LOG.warn("id {} reused while its reply is on its way: closing the connection", id);
            connection.endInput();
            return;
        }
        long now = service.scheduler.nanoTime();
        String client = ClientAddress.key(a.rip(), settings.ipv6Prefix());
        if (!rate.tryAcquire(now) || !service.addressRates.tryAcquire(client, now)) {
            if (rate.shouldLog(now)) {
                LOG.warn("more than {} AUTH requests a second: refusing them (rip={})",
                        settings.maxAuthRate(), ResultLog.address(a.rip()));
            }
            sendFail(id, served(a.mechanism()), Optional.empty(), "Too many requests", true);
            return;
        }
        Optional<Mechanism> mech = settings.mechanisms().find(a.mechanism());
        if (mech.isEmpty()) {
            ResultLog.failed(id, a.mechanism(), a.rip(), Optional.empty(), "unsupported mechanism");
            sendFail(id, UNKNOWN, Optional.empty(), "Unsupported authentication mechanism", false);
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
                fail(id, mech.get().name(), client, Optional.empty(), "Invalid base64 data in initial response", false,
                        OptionalInt.empty(), arrival);
                return;
            }
            initial = Optional.of(decoded);
        }
        long cost = PendingBudget.EXCHANGE + (resp == null ? 0 : resp.length());
        if (!service.budget.take(cost, now)) { // logged by the budget, not as a failed login
            sendFail(id, mech.get().name(), Optional.empty(), Step.Reason.OVERLOADED.clientText(), true);
            return;
        }
        Credentials credentials = settings.credentials();
        Gate gate = null;
        if (mech.get().needsCredentials()) {
            gate = new Gate(a.rip(), client);
            credentials = credentials.gated(gate);
        }
        Pending p = new Pending(id, mech.get(), mech.get().newExchange(credentials), a.rip(), client);
        p.gate = gate;
        p.service = a.service();
        p.charged = cost;
        p.initialCharged = cost - PendingBudget.EXCHANGE;
        pending.put(id, p);
        LOG.debug("AUTH id={} mech={} rip={} initial response: {}", id, p.mechanism.name(),
                ResultLog.address(a.rip()), initial.isPresent() ? "yes" : "no");
        run(p, arrival, initial, null);
    }

    void cont(Request.Cont c, long arrival) {
        String id = c.id();
        Pending p = pending.get(id);
        if (p == null && held.contains(id)) {
            connection.warn("CONT for id {} whose failure reply is being delayed: ignored", id);
            return;
        }
        if (p == null) {
            connection.warn("CONT for unknown id {}", id);
            sendFail(id, null, Optional.empty(), "Unknown request id", false);
            return;
        }
        if (p.stepRunning()) {
            if (p.early.size() >= MAX_EARLY) {
                connection.warn("more than {} CONTs for id {} ahead of its challenges: ignored", MAX_EARLY, id);
            } else if (!service.budget.take(c.response().length(), arrival)) {
                p.state = Pending.State.STARVED; // answered with a temporary failure once its step is done
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
            fail(id, p.mechanism.name(), p.client, Optional.empty(), "Invalid base64 data in continued response", false,
                    OptionalInt.empty(), arrival);
            return;
        }
        run(p, arrival, null, response);
    }

    void malformed(Request.Malformed m) {
        Optional<String> id = m.id();
        if (id.isPresent() && !replyOnItsWay(id.get())) {
            Pending p = end(id.get());
            connection.warn("{} for id {}", m.what(), id.get());
            sendFail(id.get(), p == null ? null : p.mechanism.name(), Optional.empty(), "Malformed request", false);
        } else if (id.isPresent()) {
            connection.warn("ignoring {} for id {}, whose reply is on its way", m.what(), id.get());
        } else {
            connection.warn("ignoring {} ({} bytes)", m.what(), m.idLength());
        }
    }

    /**
     * The head of an AUTH or CONT line that was too long: its exchange ends with a FAIL, unless
     * a reply to that id is on its way already.
     */
    void tooLong(String command, String id, String mechanism) {
        if (replyOnItsWay(id)) {
            return;
        }
        Pending p = end(id);
        ResultLog.failed(id, p == null ? (command.equals("AUTH") ? mechanism : "?") : p.mechanism.name(),
                p == null ? "" : p.rip, Optional.empty(), "line too long");
        sendFail(id, p != null ? p.mechanism.name() : command.equals("AUTH") ? served(mechanism) : null,
                Optional.empty(), "Line too long", false);
    }

    /** Whether the one reply to {@code id} is on its way: a step running or a FAIL held back. */
    private boolean replyOnItsWay(String id) {
        if (held.contains(id)) {
            return true;
        }
        Pending p = pending.get(id);
        return p != null && p.stepRunning();
    }

    /** What the penalty store knows of an exchange's client before a password is checked. */
    private final class Gate implements Credentials.Gate {
        private final String rip;
        private final String client;
        private final String network;
        /** The store was told of the right password already ({@link #refusedDespite}): the result is its answer. */
        volatile boolean told;
        /**
         * The user as the client named it (canonical, before the passdb's own name for it), whose
         * password is checked: a refused right password is answered with this name, as a wrong
         * one is, and counted under it.
         */
        volatile String user;

        Gate(String rip, String client) {
            this.rip = rip;
            this.client = client;
            this.network = ClientAddress.network(client);
        }

        @Override
        public Optional<Step.Reason> refusedDespite(String user) {
            PenaltyStore.Outcome o = service.penalties.record(
                    new PenaltyStore.Attempt(rip, client, network, user, OptionalInt.empty()), true);
            told = true;
            return switch (o.verdict()) {
                case AS_CHECKED -> Optional.empty();
                case BANNED -> Optional.of(Step.Reason.BANNED);
                case PROTECTED -> Optional.of(Step.Reason.PROTECTED);
            };
        }

        @Override
        public Optional<Step.Reason> refusal(String user) {
            this.user = user;
            if (service.penalties.banned(client)) {
                return Optional.of(Step.Reason.BANNED);
            }
            if (service.penalties.refusesUnchecked(rip, user, network)) {
                return Optional.of(Step.Reason.PROTECTED);
            }
            return Optional.empty();
        }

        @Override
        public byte[] guessKey() {
            return service.penalties.guessKey();
        }
    }

    /**
     * What the penalty store is told of a step's result, or null when it is told nothing: a
     * mechanism that checks no password, a store told already ({@link Gate#refusedDespite}), a
     * challenge, a temporary failure, a failure without a user.
     */
    private static PenaltyStore.Attempt attempt(Pending p, Step result) {
        if (!p.mechanism.needsCredentials() || p.gate != null && p.gate.told) {
            return null;
        }
        if (result instanceof Step.Success s) {
            String named = p.gate != null && p.gate.user != null ? p.gate.user : s.user();
            return new PenaltyStore.Attempt(p.rip, p.client, p.network, named, OptionalInt.empty());
        }
        if (result instanceof Step.Failure f && f.user().isPresent() && !f.reason().temporary()) {
            return new PenaltyStore.Attempt(p.rip, p.client, p.network, f.user().get(), f.guess());
        }
        return null;
    }

    /**
     * The result of a step as the penalty store made it ({@code o}, its answer to {@link
     * #attempt}): a login it refuses (a banned address, a protected user's unknown network)
     * becomes a FAIL like a wrong password's, right password or not.
     */
    private static Step judged(Pending p, Step result, PenaltyStore.Attempt at, PenaltyStore.Outcome o) {
        p.slowed = o.slowed();
        if (result instanceof Step.Success) {
            return switch (o.verdict()) {
                case AS_CHECKED -> result;
                case BANNED -> new Step.Failure(Step.Reason.BANNED, Optional.of(at.user()), OptionalInt.empty());
                case PROTECTED -> new Step.Failure(Step.Reason.PROTECTED, Optional.of(at.user()), OptionalInt.empty());
            };
        }
        Step.Failure f = (Step.Failure) result;
        return o.verdict() == PenaltyStore.Verdict.BANNED ? new Step.Failure(Step.Reason.BANNED, f.user(), f.guess())
                : result;
    }

    // --- steps ------------------------------------------------------------------------------------

    /**
     * Runs the exchange's first step ({@code response} null) or next step on the executor, or
     * here for a mechanism that checks no password. The step's answer is written under the lock.
     */
    private void run(Pending p, long arrival, Optional<byte[]> initial, byte[] response) {
        p.state = Pending.State.STEP_RUNNING;
        p.deadline = arrival + AuthService.ANSWER_WITHIN.toNanos();
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
            sendFail(p.id, p.mechanism.name(), Optional.empty(), Step.Reason.OVERLOADED.clientText(), true);
            return;
        }
        if (running > service.stepsThatStartAtOnce) { // it may wait for a worker: watch its deadline
            wakeAt(p.deadline);
        }
    }

    /**
     * One step of an exchange, and the writing of its answer. A step whose result the penalty
     * store judges is answered when the store has ({@link #accept}): at once for the memory
     * store, once Redis answered for the Redis store, on the store's thread, so that no worker
     * waits for a round trip.
     */
    private final class StepTask implements Runnable, java.util.function.Consumer<PenaltyStore.Outcome> {
        private final Pending p;
        private final long arrival;
        private final Optional<byte[]> initial;
        private final byte[] response;
        /** The step's result and what the store is told of it, while the store judges it. */
        private Step result;
        private PenaltyStore.Attempt attempt;

        StepTask(Pending p, long arrival, Optional<byte[]> initial, byte[] response) {
            this.p = p;
            this.arrival = arrival;
            this.initial = initial;
            this.response = response;
        }

        @Override
        public void run() {
            boolean dropped = false;
            boolean late = false;
            synchronized (lock) {
                if (p.state == Pending.State.OVERDUE) { // answered at its deadline while it waited
                    dropped = true;
                } else if (connection.state().compareTo(AuthConnection.State.FLOODED) >= 0
                        || connection.outBroken()) { // nobody to answer
                    running--;
                    if (pending.get(p.id) == p) {
                        end(p.id);
                    }
                    dropped = true;
                } else {
                    late = service.scheduler.nanoTime() >= p.deadline;
                }
            }
            if (dropped) {
                connection.settle();
                return;
            }
            Step result;
            if (late) { // its turn came too late for Postfix to read the answer
                result = Step.Failure.of(Step.Reason.OVERLOADED);
            } else {
                Deadline due = Deadline.at(service.scheduler, p.deadline);
                org.saslauth.store.Client.ADDRESS.set(p.rip); // for a passdb that passes it on (PAM_RHOST)
                org.saslauth.store.Client.SERVICE.set(p.service); // for app passwords limited to services
                try {
                    result = response == null ? p.exchange.start(initial, due) : p.exchange.next(response, due);
                } catch (RuntimeException | Error e) { // an Error too (a class that cannot load): answered, never lost
                    LOG.error("mechanism {} failed on id {}", p.mechanism.name(), p.id, e);
                    result = Step.Failure.of(Step.Reason.INTERNAL_ERROR);
                } finally {
                    org.saslauth.store.Client.ADDRESS.remove();
                    org.saslauth.store.Client.SERVICE.remove();
                }
                PenaltyStore.Attempt at = attempt(p, result);
                if (at != null) {
                    this.result = result;
                    this.attempt = at;
                    if (service.penalties.answersLater()) { // Redis's answer is on its way: the deadline still holds
                        synchronized (lock) {
                            wakeAt(p.deadline);
                        }
                    }
                    service.penalties.record(at, result instanceof Step.Success, this);
                    return;
                }
            }
            write(result, late);
        }

        @Override
        public void accept(PenaltyStore.Outcome o) {
            write(judged(p, result, attempt, o), false);
        }

        /** Writes the step's answer under the lock, unless it was answered at its deadline. */
        private void write(Step result, boolean late) {
            boolean dropped = false;
            synchronized (lock) {
                if (p.state == Pending.State.OVERDUE) { // answered at its deadline meanwhile
                    dropped = true;
                } else {
                    running--;
                    if (!late && service.scheduler.nanoTime() >= p.deadline && pending.get(p.id) == p) {
                        overdue(p); // the sweep has not come yet: the same answer, never the late one
                        dropped = true;
                        connection.flushUnlessReceiving();
                    }
                }
                if (response == null) { // the initial response is no longer held
                    long back = Math.min(p.initialCharged, p.charged);
                    service.budget.give(back);
                    p.charged -= back;
                    p.initialCharged = 0;
                }
                if (!dropped && connection.state() != AuthConnection.State.CLOSED) {
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
                    connection.flushUnlessReceiving();
                }
            }
            connection.settle();
        }
    }

    private void answer(Pending p, Step step, long arrival) {
        if (pending.get(p.id) != p) {
            return; // ended meanwhile (a reused id): its one reply has gone out
        }
        if (step instanceof Step.Challenge c) {
            if (p.state == Pending.State.STARVED) {
                end(p.id);
                sendFail(p.id, p.mechanism.name(), Optional.empty(), Step.Reason.OVERLOADED.clientText(), true);
                return;
            }
            connection.send("CONT\t" + p.id + "\t" + BASE64_OUT.encodeToString(c.data()));
            if (connection.state() != AuthConnection.State.OPEN && p.early.isEmpty()) {
                end(p.id); // sent, but no CONT can come any more
                return;
            }
            p.state = Pending.State.WAITING_FOR_CONT;
            p.since = service.scheduler.nanoTime();
            wakeAt(p.since + AuthService.EXCHANGE_TIMEOUT.toNanos());
            evictOldest();
        } else if (step instanceof Step.Success s) {
            end(p.id);
            if (settings.penalty()) {
                service.penalty.succeeded(p.client);
            }
            ResultLog.ok(p.id, p.mechanism.name(), p.rip, s.user());
            Meter meter = Meter.current();
            meter.answered(p.mechanism.name(), service.scheduler.nanoTime() - arrival);
            meter.replied(p.mechanism.name(), Meter.Result.OK);
            connection.send("OK\t" + p.id + "\tuser=" + Escaping.escape(s.user()));
        } else if (step instanceof Step.Failure fl) {
            end(p.id);
            ResultLog.failed(p.id, p.mechanism.name(), p.rip, fl.user(), fl.logText());
            Meter.current().answered(p.mechanism.name(), service.scheduler.nanoTime() - arrival);
            fail(p.id, p.mechanism.name(), p.client, fl.user(), fl.reason().clientText(), fl.reason().temporary(),
                    fl.guess(), arrival, p.slowed);
        }
    }

    /**
     * A FAIL held back by the failure delay (and the penalty of {@code client}), counted from
     * {@code arrival}, and sent at the request's deadline at the latest.
     */
    private void fail(String id, String mechanism, String client, Optional<String> user, String reason,
            boolean temporary, OptionalInt guess, long arrival) {
        fail(id, mechanism, client, user, reason, temporary, guess, arrival, false);
    }

    /** {@link #fail}; {@code slowed}: the client's /24 holds many bans, and it waits the longest delay. */
    private void fail(String id, String mechanism, String client, Optional<String> user, String reason,
            boolean temporary, OptionalInt guess, long arrival, boolean slowed) {
        Duration delay = settings.failureDelay();
        long now = service.scheduler.nanoTime();
        if (settings.penalty() && !temporary) {
            delay = service.penalty.failed(client, guess, delay, now);
        }
        if (slowed && !temporary) {
            delay = Penalty.CAP;
        }
        if (!temporary && delay.compareTo(settings.failureDelay()) > 0) {
            Meter.current().penaltyDelayed();
        }
        // Counted from the request's arrival, so that the time spent checking a password (a
        // known user) does not set its FAIL apart from an unknown user's.
        long due = Math.min(arrival + delay.toNanos(), arrival + AuthService.ANSWER_WITHIN.toNanos());
        long left = due - now;
        if (left <= 0) {
            sendFail(id, mechanism, user, reason, temporary);
            return;
        }
        if (held.size() >= MAX_DELAYED) {
            connection.flooded(MAX_DELAYED);
            return;
        }
        held.add(id);
        service.scheduler.schedule(new HeldFail(id, mechanism, user, reason, temporary), left);
    }

    /** A FAIL sent when its delay is over. */
    private final class HeldFail implements Runnable {
        private final String id;
        private final String mechanism;
        private final Optional<String> user;
        private final String reason;
        private final boolean temporary;

        HeldFail(String id, String mechanism, Optional<String> user, String reason, boolean temporary) {
            this.id = id;
            this.mechanism = mechanism;
            this.user = user;
            this.reason = reason;
            this.temporary = temporary;
        }

        @Override
        public void run() {
            synchronized (lock) { // the id is free again once, and only once, its FAIL is out
                held.remove(id);
                if (connection.state() != AuthConnection.State.CLOSED) {
                    sendFail(id, mechanism, user, reason, temporary);
                    connection.flushOut();
                }
            }
            connection.settle();
        }
    }

    /** A cancelled SMTP AUTH never reaches the helper: its exchange would stay pending forever. */
    private void evictOldest() {
        Iterator<Pending> it = pending.values().iterator();
        while (pending.size() > settings.maxPending() && it.hasNext()) {
            Pending old = it.next();
            if (old.state != Pending.State.WAITING_FOR_CONT) {
                continue;
            }
            it.remove();
            release(old);
            LOG.info("dropping abandoned exchange id={} mech={} ({} pending is the limit)",
                    old.id, old.mechanism.name(), settings.maxPending());
            sendFail(old.id, old.mechanism.name(), Optional.empty(), "Abandoned request", false);
        }
    }

    // --- the end of the connection ----------------------------------------------------------------

    /** Whether a step's reply or a held FAIL is still to be written. */
    boolean repliesDue() {
        return running > 0 || !held.isEmpty();
    }

    /** Exchanges still pending. */
    int unfinished() {
        return pending.size();
    }

    /** At the end of input: exchanges waiting for a CONT will never have one, and hold nothing more. */
    void dropWaiting() {
        int dropped = 0;
        for (Iterator<Pending> it = pending.values().iterator(); it.hasNext(); ) {
            Pending p = it.next();
            if (p.state == Pending.State.WAITING_FOR_CONT) {
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
    void endAll() {
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

    // --- time limits ------------------------------------------------------------------------------

    /** Makes sure a {@link Sweep} runs at {@code when} or before. */
    private void wakeAt(long when) {
        if (when >= sweepAt) {
            return;
        }
        sweepAt = when;
        service.scheduler.schedule(new Sweep(this, when), Math.max(0, when - service.scheduler.nanoTime()));
    }

    /**
     * Answers the steps past their deadline with a temporary failure and ends the exchanges that
     * have waited {@link AuthService#EXCHANGE_TIMEOUT} for a CONT, then comes back when the next
     * one is due. A connection has one or two on the timer at most, whatever its traffic.
     */
    static final class Sweep implements Runnable {
        /** Weak: a connection that is gone must not stay in memory until its sweep is due. */
        private final java.lang.ref.WeakReference<RequestHandler> handler;
        private final long due;

        Sweep(RequestHandler handler, long due) {
            this.handler = new java.lang.ref.WeakReference<>(handler);
            this.due = due;
        }

        @Override
        public void run() {
            RequestHandler h = handler.get();
            if (h != null) {
                h.sweep(due);
            }
        }
    }

    private void sweep(long due) {
        boolean answered = false;
        synchronized (lock) {
            if (due == sweepAt) {
                sweepAt = NO_SWEEP;
            }
            AuthConnection.State state = connection.state();
            if (state == AuthConnection.State.CLOSED) {
                return;
            }
            long timeout = AuthService.EXCHANGE_TIMEOUT.toNanos();
            long now = service.scheduler.nanoTime();
            long next = NO_SWEEP;
            for (Iterator<Pending> it = pending.values().iterator(); it.hasNext(); ) {
                Pending p = it.next();
                if (p.stepRunning()) {
                    if (now < p.deadline) {
                        next = Math.min(next, p.deadline);
                        continue;
                    }
                    it.remove();
                    running--;
                    overdue(p);
                    answered = true;
                } else if (p.state == Pending.State.WAITING_FOR_CONT && state == AuthConnection.State.OPEN) {
                    long idle = now - p.since;
                    if (idle < timeout) {
                        next = Math.min(next, p.since + timeout);
                        continue;
                    }
                    it.remove();
                    release(p);
                    LOG.info("ending exchange id={} mech={}: no answer to its challenge for {} s",
                            p.id, p.mechanism.name(), AuthService.EXCHANGE_TIMEOUT.toSeconds());
                    sendFail(p.id, p.mechanism.name(), Optional.empty(), "Request timed out", false);
                    answered = true;
                }
            }
            if (next != NO_SWEEP) {
                wakeAt(next);
            }
            if (answered) {
                connection.flushOut();
            }
        }
        if (answered) {
            connection.settle();
        }
    }

    /**
     * Answers {@code p}, already out of {@link #pending} or about to be, with a temporary
     * failure: its deadline has come and its step is still running or waiting.
     */
    private void overdue(Pending p) {
        pending.remove(p.id, p);
        release(p);
        p.state = Pending.State.OVERDUE;
        ResultLog.failed(p.id, p.mechanism.name(), p.rip, Optional.empty(),
                "server too busy: no answer within " + AuthService.ANSWER_WITHIN.toSeconds() + " s");
        sendFail(p.id, p.mechanism.name(), Optional.empty(), Step.Reason.OVERLOADED.clientText(), true);
    }

    /**
     * The connection is over while steps still run (its end-of-input wait ran out): each of them
     * is answered with a temporary failure now, so that no id goes without its one reply.
     */
    void answerRunning() {
        for (Iterator<Pending> it = pending.values().iterator(); it.hasNext(); ) {
            Pending p = it.next();
            if (p.stepRunning()) {
                it.remove();
                running--;
                overdue(p);
            }
        }
    }

    // --- replies ----------------------------------------------------------------------------------

    /** The label of a mechanism a client named: its name when it is served, else {@link #UNKNOWN}. */
    private String served(String mechanism) {
        return settings.mechanisms().find(mechanism).map(Mechanism::name).orElse(UNKNOWN);
    }

    /** The mechanism label of an AUTH whose mechanism is not served. */
    private static final String UNKNOWN = "unknown";

    /**
     * Sends the FAIL that ends an exchange of {@code mechanism}, counted as its result; a
     * {@code null} mechanism: a FAIL that ends no AUTH (a CONT for an unknown id), not counted.
     */
    private void sendFail(String id, String mechanism, Optional<String> user, String reason, boolean temporary) {
        if (mechanism != null) {
            Meter.current().replied(mechanism, temporary ? Meter.Result.TEMP_FAIL : Meter.Result.FAIL);
        }
        StringBuilder line = new StringBuilder(64).append("FAIL\t").append(id);
        user.ifPresent(u -> line.append("\tuser=").append(Escaping.escape(u)));
        line.append("\treason=").append(Escaping.escape(reason));
        if (temporary) {
            line.append("\tcode=temp_fail");
        }
        connection.send(line.toString());
    }

    private static byte[] decode(String base64) {
        try {
            return BASE64_IN.decode(base64);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
