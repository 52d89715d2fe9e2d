package org.saslauth.protocol;

import static org.saslauth.Log.LOG;
import static org.saslauth.Log.quote;

import java.io.Flushable;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import org.saslauth.Pid;
import org.saslauth.mech.Mechanism;

/**
 * One client connection of Dovecot's auth client protocol (version 1), as Dovecot's
 * {@code auth-client-connection}: the handshake, the dispatch of the client's lines, its
 * {@code CPID}, and the end of input. Its exchanges are kept by a {@link RequestHandler}. Lines
 * are pushed in by whoever reads the connection ({@link AuthServer} under spawn(8), a daemon's
 * selector); replies go to a {@link ReplyChannel}.
 *
 * <p>Exchange steps, which may check a password, run on the service's executor, so that no
 * reply waits for another exchange's password check and the reading thread never blocks on
 * one. Every time the connection and its requests read comes from the service's
 * {@link Scheduler}, and every delayed reply is on its timer. All state is guarded by one lock,
 * which replies are written under.
 */
public final class AuthConnection implements Flushable {

    /** Warnings logged at once per connection before they are folded into a count. */
    static final int WARNINGS_BEFORE_FOLDING = 20;

    /** Where the connection is in its life; it only moves forward. */
    enum State {
        /** Lines are handled. */
        OPEN,
        /**
         * The input is over or must stop (its end, another protocol version, an id reused while
         * its reply is on its way): nothing new starts, the replies due still go out.
         */
        ENDING,
        /** Too many failures held back: as {@link #ENDING}, and steps not yet started are dropped. */
        FLOODED,
        /** The peer is gone: nothing more is written, results on their way are dropped. */
        CLOSED
    }

    final AuthService service;
    final Settings settings;
    final Object lock = new Object();
    private final ReplyChannel out;
    private final RequestHandler requests;
    private State state = State.OPEN;
    /** Set while a pushed line is handled: replies written then wait for {@link #flush()}. */
    private boolean receiving;
    /** What {@link #finishThen} runs once the last reply due is out; null when nothing waits. */
    private Runnable afterLastReply;
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
        this.requests = new RequestHandler(this);
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
            if (state != State.OPEN) {
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
                endInput();
            }
            return state == State.OPEN;
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
     * End of input: starts nothing new, waits up to {@code max} on the service's timer for the
     * steps running and the failure replies held back, and flushes them.
     */
    public void finish(Duration max) {
        CountDownLatch over = new CountDownLatch(1);
        finishThen(max, over::countDown);
        try {
            over.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
            endInput();
            requests.dropWaiting();
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
                if (afterLastReply != null && state != State.CLOSED) { // out of time: no id left without its reply
                    requests.answerRunning();
                }
                out.flush();
            }
            runAfterLastReply();
        }, max.toNanos());
    }

    /** The peer is gone: nothing more is written, results still on their way are dropped. */
    public void close() {
        synchronized (lock) {
            state = State.CLOSED;
            requests.endAll();
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

    // --- what the request handler uses, with the lock held ----------------------------------------

    State state() {
        return state;
    }

    /** Nothing new is read or started. */
    void endInput() {
        if (state == State.OPEN) {
            state = State.ENDING;
        }
    }

    /** Too many FAILs held back: the connection ends, and steps not yet started are dropped. */
    void flooded(int limit) {
        if (state.compareTo(State.FLOODED) < 0) {
            LOG.warn("more than {} failure replies waiting: closing the connection", limit);
            state = State.FLOODED;
        }
    }

    boolean outBroken() {
        return out.isBroken();
    }

    void send(String line) {
        out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
    }

    void flushOut() {
        out.flush();
    }

    /** Flushes, unless the reader is inside {@link #receive}, which leaves it to {@link #flush()}. */
    void flushUnlessReceiving() {
        if (!receiving) {
            out.flush();
        }
    }

    /**
     * Runs the {@link #finishThen} task if nothing more is due (or the peer is gone). Called
     * without the lock, after anything that may have sent the last reply due.
     */
    void settle() {
        synchronized (lock) {
            if (afterLastReply == null || (requests.repliesDue() && !out.isBroken() && state != State.CLOSED)) {
                return;
            }
            out.flush();
            LOG.debug("end of input, {} exchange(s) left unfinished", requests.unfinished());
        }
        runAfterLastReply();
    }

    private void runAfterLastReply() {
        Runnable done;
        synchronized (lock) {
            done = afterLastReply;
            afterLastReply = null;
            if (done != null) { // the connection is over: whatever is still pending holds nothing more
                requests.endAll();
            }
        }
        if (done != null) {
            done.run();
        }
    }

    /**
     * A warning about the client's input: the first {@value #WARNINGS_BEFORE_FOLDING} of a
     * connection are logged, then at most one a second with the count of those left out, so
     * that a flood of junk cannot fill the disk.
     */
    void warn(String format, Object... args) {
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

    // --- the client's lines, with the lock held ----------------------------------------------------

    private void handle(Request request, long arrival) {
        if (request instanceof Request.Auth a) {
            requests.auth(a, arrival);
        } else if (request instanceof Request.Cont c) {
            requests.cont(c, arrival);
        } else if (request instanceof Request.Malformed m) {
            requests.malformed(m);
        } else if (request instanceof Request.Version v) {
            if (!v.major().equals("1")) {
                LOG.error("client speaks protocol version {}, only 1 is supported; closing", quote(v.major(), 16));
                status = AuthServer.UNSUPPORTED_VERSION;
                endInput();
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

    private void overflow(byte[] head) {
        String[] f = new String(head, StandardCharsets.UTF_8).split("\t", -1);
        warn("line longer than {} bytes from client", Limits.MAX_LINE);
        boolean request = f[0].equals("AUTH") || f[0].equals("CONT");
        if (request && f.length > 2 && Request.validId(f[1])) {
            requests.tooLong(f[0], f[1], f[2]);
        }
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
}
