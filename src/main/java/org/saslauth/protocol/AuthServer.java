package org.saslauth.protocol;

import static org.saslauth.protocol.Log.LOG;
import static org.saslauth.protocol.Log.quote;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Exchange;
import org.saslauth.mech.Mechanism;
import org.saslauth.mech.Mechanisms;
import org.saslauth.mech.Step;

/**
 * The server side of Dovecot's auth client protocol (version 1), as Postfix's smtpd speaks it
 * over a spawn(8) socket. It owns the wire: framing, {@code \001}-escaping, base64, ids, the
 * pending exchanges and their limits, the failure delay, and end of input. Mechanisms see only
 * decoded bytes.
 *
 * <pre>
 * S: VERSION 1 2 / MECH ... / SPID / CUID / COOKIE / DONE   (sent at once, MECH before SPID)
 * C: VERSION 1 0 / CPID pid
 * C: AUTH id MECH service=smtp ... [resp=base64]
 * S: CONT id base64 | OK id user=name | FAIL id [user=name] reason=text
 * C: CONT id base64
 * </pre>
 *
 * Exchanges run on the reading thread, one line at a time; a failure's reply is held back by the
 * failure delay on a timer thread so that it never blocks other exchanges on the connection.
 */
public final class AuthServer {

    /** Dovecot's own limit on an auth client line. */
    public static final int MAX_LINE = 16384;

    /** Exit status of {@link #serve} when the client speaks another major version. */
    public static final int UNSUPPORTED_VERSION = 4;

    private static final Base64.Decoder BASE64_IN = Base64.getDecoder();
    private static final Base64.Encoder BASE64_OUT = Base64.getEncoder();

    /** What the server needs to know; see the command-line options of the same names. */
    public record Settings(Mechanisms mechanisms, Credentials credentials, Duration failureDelay,
            int maxPending, boolean penalty, int maxAuthRate) {

        /** Settings with no per-address penalty and no rate limit. */
        public Settings(Mechanisms mechanisms, Credentials credentials, Duration failureDelay, int maxPending) {
            this(mechanisms, credentials, failureDelay, maxPending, false, 0);
        }

        public Settings {
            if (maxPending < 1) {
                throw new IllegalArgumentException("maxPending must be at least 1");
            }
            if (failureDelay.isNegative()) {
                throw new IllegalArgumentException("failure delay must not be negative");
            }
            if (maxAuthRate < 0) {
                throw new IllegalArgumentException("maxAuthRate must not be negative");
            }
        }
    }

    /** Failure replies waiting for their delay beyond which a connection is considered a flood. */
    static final int MAX_DELAYED = 4096;

    private record Pending(String id, String mechanism, Exchange exchange, String rip) {}

    private final Settings settings;
    private final long pid;
    private final Map<String, Pending> pending = new LinkedHashMap<>();
    private final Object writeLock = new Object();
    private OutputStream out;
    private boolean outputBroken;
    private ScheduledThreadPoolExecutor timer;
    private final Penalty penalty = new Penalty();
    private final RateLimit rate;
    private boolean flooded;
    /** Ids whose FAIL waits for the failure delay; added by the reader, removed by the timer. */
    private final Set<String> held = ConcurrentHashMap.newKeySet();
    /** When the line being answered was read: the failure delay counts from there. */
    private long arrival;

    public AuthServer(Settings settings) {
        this.settings = settings;
        this.pid = ProcessHandle.current().pid();
        this.rate = new RateLimit(settings.maxAuthRate());
    }

    /**
     * Sends the handshake, then answers lines until end of input, then waits for the failure
     * replies still held back. Returns 0, or {@link #UNSUPPORTED_VERSION}.
     *
     * @throws IOException when reading the input fails (a closed output is not an error: the
     *     peer went away)
     */
    public int serve(InputStream in, OutputStream rawOut) throws IOException {
        this.out = new BufferedOutputStream(rawOut, 8192);
        sendHandshake();
        LineReader reader = new LineReader(in, MAX_LINE);
        int status = 0;
        try {
            LineReader.Line line;
            while ((line = reader.read()) != null) {
                arrival = System.nanoTime();
                if (line.overflow()) {
                    overflow(line.bytes());
                } else if (!handle(new String(line.bytes(), StandardCharsets.UTF_8))) {
                    status = UNSUPPORTED_VERSION;
                    break;
                }
                if (!reader.hasBuffered()) {
                    flush();
                }
                if (isOutputBroken()) {
                    LOG.info("client closed the connection");
                    break;
                }
                if (flooded) {
                    LOG.warn("more than {} failure replies waiting: closing the connection", MAX_DELAYED);
                    break;
                }
            }
        } finally {
            flush();
            drainTimer();
        }
        LOG.debug("end of input, {} exchange(s) left unfinished", pending.size());
        return status;
    }

    private void sendHandshake() {
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
        SplittableRandom random = new SplittableRandom(System.nanoTime() ^ (pid << 32));
        hs.append("SPID\t").append(pid).append('\n')
                .append("CUID\t1\n")
                .append("COOKIE\t");
        appendHex(hs, random.nextLong()); // not String.format: its parser is slow to start
        appendHex(hs, random.nextLong());
        hs.append("\nDONE\n");
        synchronized (writeLock) {
            writeRaw(hs.toString());
            flushLocked();
        }
    }

    /** 16 lower-case hex digits. */
    private static void appendHex(StringBuilder sb, long value) {
        String hex = Long.toHexString(value);
        sb.append("0".repeat(16 - hex.length())).append(hex);
    }

    /** Returns false when the connection must end (unsupported version). */
    private boolean handle(String line) {
        int tab = line.indexOf('\t');
        String command = tab < 0 ? line : line.substring(0, tab);
        switch (command) {
            case "AUTH" -> auth(line.split("\t", -1));
            case "CONT" -> cont(line.split("\t", -1));
            case "VERSION" -> {
                String[] f = line.split("\t", -1);
                if (f.length < 2 || !f[1].equals("1")) {
                    LOG.error("client speaks protocol version {}, only 1 is supported; closing",
                            quote(f.length < 2 ? "" : f[1], 16));
                    return false;
                }
            }
            case "CPID" -> LOG.debug("client pid {}", quote(line.substring(tab + 1), 16));
            default -> {
                // Only a word that looks like a command: a mangled line may hold credentials.
                if (!line.isEmpty()) {
                    LOG.warn("ignoring unknown command {} ({} bytes)",
                            bare(command, 16, true, "") ? command : "-", line.length());
                }
            }
        }
        return true;
    }

    private void auth(String[] f) {
        if (f.length < 3) {
            malformed(f, "AUTH without mechanism");
            return;
        }
        String id = f[1];
        if (!validId(id)) {
            LOG.warn("ignoring AUTH with an invalid id ({} bytes)", id.length());
            return;
        }
        if (pending.remove(id) != null) {
            LOG.warn("id {} reused while its exchange was pending: both ended", id);
            sendFail(id, Optional.empty(), "Duplicate request id", false);
            return;
        }
        if (isHeld(id)) {
            LOG.warn("id {} reused while its failure reply is being delayed", id);
            sendFail(id, Optional.empty(), "Duplicate request id", false);
            return;
        }
        String rip = "";
        String resp = null;
        for (int i = 3; i < f.length; i++) {
            String p = f[i];
            if (p.startsWith("rip=")) {
                rip = Escaping.unescape(p.substring(4));
            } else if (p.startsWith("resp=")) {
                resp = p.substring(5);
            }
        }
        String mechName = f[2];
        if (!rate.tryAcquire(System.nanoTime())) {
            if (rate.shouldLog()) {
                LOG.warn("more than {} AUTH requests a second: refusing them (rip={})",
                        settings.maxAuthRate(), quoteIfNeeded(rip));
            }
            sendFail(id, Optional.empty(), "Too many requests", true);
            return;
        }
        Optional<Mechanism> mech = settings.mechanisms().find(mechName);
        if (mech.isEmpty()) {
            logResult(false, id, mechName, rip, Optional.empty(), "unsupported mechanism");
            sendFail(id, Optional.empty(), "Unsupported authentication mechanism", false);
            return;
        }
        Optional<byte[]> initial;
        if (resp == null) {
            initial = Optional.empty();
        } else if (resp.isEmpty() || resp.equals("=")) {
            initial = Optional.of(new byte[0]);
        } else {
            byte[] decoded = decode(resp);
            if (decoded == null) {
                logResult(false, id, mech.get().name(), rip, Optional.empty(), "invalid base64");
                fail(id, rip, Optional.empty(), "Invalid base64 data in initial response", false);
                return;
            }
            initial = Optional.of(decoded);
        }
        Pending p = new Pending(id, mech.get().name(), mech.get().newExchange(settings.credentials()), rip);
        pending.put(id, p);
        LOG.debug("AUTH id={} mech={} rip={} initial response: {}", id, p.mechanism(), quoteIfNeeded(rip),
                initial.isPresent() ? "yes" : "no");
        Step step;
        try {
            step = p.exchange().start(initial);
        } catch (RuntimeException e) {
            step = internalError(p, e);
        }
        answer(p, step);
        if (pending.containsKey(id)) {
            evictOldest();
        }
    }

    private void cont(String[] f) {
        if (f.length < 2 || !validId(f[1])) {
            LOG.warn("ignoring CONT with an invalid id ({} bytes)", f.length < 2 ? 0 : f[1].length());
            return;
        }
        String id = f[1];
        Pending p = pending.get(id);
        if (p == null && isHeld(id)) {
            // Its FAIL is on the way: that is the id's one final reply.
            LOG.warn("CONT for id {} whose failure reply is being delayed: ignored", id);
            return;
        }
        if (p == null) {
            LOG.warn("CONT for unknown id {}", id);
            sendFail(id, Optional.empty(), "Unknown request id", false);
            return;
        }
        byte[] response = decode(f.length > 2 ? f[2] : "");
        if (response == null) {
            pending.remove(id);
            logResult(false, id, p.mechanism(), p.rip(), Optional.empty(), "invalid base64");
            fail(id, p.rip(), Optional.empty(), "Invalid base64 data in continued response", false);
            return;
        }
        Step step;
        try {
            step = p.exchange().next(response);
        } catch (RuntimeException e) {
            step = internalError(p, e);
        }
        answer(p, step);
    }

    private Step internalError(Pending p, RuntimeException e) {
        LOG.error("mechanism {} failed on id {}", p.mechanism(), p.id(), e);
        return Step.Failure.of(Step.Reason.INTERNAL_ERROR);
    }

    private void answer(Pending p, Step step) {
        if (step instanceof Step.Challenge c) {
            send("CONT\t" + p.id() + "\t" + BASE64_OUT.encodeToString(c.data()));
        } else if (step instanceof Step.Success s) {
            pending.remove(p.id());
            if (settings.penalty()) {
                penalty.succeeded(p.rip());
            }
            logResult(true, p.id(), p.mechanism(), p.rip(), Optional.of(s.user()), null);
            send("OK\t" + p.id() + "\tuser=" + Escaping.escape(s.user()));
        } else if (step instanceof Step.Failure fl) {
            pending.remove(p.id());
            logResult(false, p.id(), p.mechanism(), p.rip(), fl.user(), fl.logText());
            fail(p.id(), p.rip(), fl.user(), fl.reason().clientText(), fl.reason().temporary(), fl.guess());
        }
    }

    /** A FAIL held back by the failure delay. */
    private void fail(String id, String rip, Optional<String> user, String reason, boolean temporary) {
        fail(id, rip, user, reason, temporary, OptionalInt.empty());
    }

    private void fail(String id, String rip, Optional<String> user, String reason, boolean temporary,
            OptionalInt guess) {
        Duration delay = settings.failureDelay();
        if (settings.penalty() && !temporary) {
            delay = penalty.failed(rip, guess, delay, System.nanoTime());
        }
        // Counted from the request's arrival, so that the time spent checking a password (a
        // known user) does not set its FAIL apart from an unknown user's.
        delay = delay.minusNanos(System.nanoTime() - arrival);
        if (delay.isNegative() || delay.isZero()) {
            sendFail(id, user, reason, temporary);
            return;
        }
        flush();
        if (timer().getQueue().size() >= MAX_DELAYED) {
            flooded = true;
            return;
        }
        held.add(id);
        timer().schedule(() -> {
            synchronized (writeLock) { // the id is free again once, and only once, its FAIL is out
                sendFail(id, user, reason, temporary);
                held.remove(id);
            }
        }, delay.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Whether the id's FAIL is waiting for the failure delay; it is then the id's one reply. */
    private boolean isHeld(String id) {
        synchronized (writeLock) {
            return held.contains(id);
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
        if (Thread.currentThread().getName().equals(TIMER_THREAD)) {
            flush();
        }
    }

    private void overflow(byte[] head) {
        String[] f = new String(head, StandardCharsets.UTF_8).split("\t", -1);
        LOG.warn("line longer than {} bytes from client", MAX_LINE);
        if ((f[0].equals("AUTH") || f[0].equals("CONT")) && f.length > 2 && validId(f[1]) && !isHeld(f[1])) {
            Pending p = pending.remove(f[1]);
            logResult(false, f[1], p == null ? (f[0].equals("AUTH") ? f[2] : "?") : p.mechanism(),
                    p == null ? "" : p.rip(), Optional.empty(), "line too long");
            sendFail(f[1], Optional.empty(), "Line too long", false);
        }
    }

    private void malformed(String[] f, String what) {
        if (f.length > 1 && validId(f[1]) && !isHeld(f[1])) {
            pending.remove(f[1]);
            LOG.warn("{} for id {}", what, f[1]);
            sendFail(f[1], Optional.empty(), "Malformed request", false);
        } else {
            LOG.warn("ignoring {}", what);
        }
    }

    /** A cancelled SMTP AUTH never reaches the helper: its exchange would stay pending forever. */
    private void evictOldest() {
        Iterator<Pending> it = pending.values().iterator();
        while (pending.size() > settings.maxPending() && it.hasNext()) {
            Pending old = it.next();
            it.remove();
            LOG.info("dropping abandoned exchange id={} mech={} ({} pending is the limit)",
                    old.id(), old.mechanism(), settings.maxPending());
            sendFail(old.id(), Optional.empty(), "Abandoned request", false);
        }
    }

    /** An id is an unsigned 32-bit decimal number, as in Dovecot. */
    static boolean validId(String id) {
        int n = id.length();
        if (n == 0 || n > 10) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = id.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return n < 10 || Long.parseLong(id) <= 0xFFFF_FFFFL;
    }

    private static byte[] decode(String base64) {
        try {
            return BASE64_IN.decode(base64);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static void logResult(boolean ok, String id, String mech, String rip, Optional<String> user,
            String reason) {
        String r = rip.isEmpty() ? "-" : quoteIfNeeded(rip);
        String u = quote(user.orElse(""));
        if (ok) {
            LOG.info("auth ok: rip={} mech={} user={} id={}", r, token(mech), u, id);
        } else {
            LOG.info("auth failed: rip={} mech={} user={} id={} reason={}", r, token(mech), u, id, quote(reason));
        }
    }

    /** A mechanism name is written bare when it is one word, quoted otherwise. */
    private static String token(String word) {
        return bare(word, 32, true, "-_") ? word : quote(word, 32);
    }

    /** An address is written bare when it looks like one, so that fail2ban's HOST matches it. */
    private static String quoteIfNeeded(String rip) {
        return bare(rip, 45, false, ".:") ? rip : quote(rip, 64);
    }

    /**
     * Whether {@code s} is non-empty, at most {@code max} long, and only of ASCII digits, hex
     * letters (all letters when {@code letters}) and {@code extra}.
     */
    private static boolean bare(String s, int max, boolean letters, String extra) {
        if (s.isEmpty() || s.length() > max) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            char l = (char) (c | 0x20);
            boolean letter = letters ? l >= 'a' && l <= 'z' : l >= 'a' && l <= 'f';
            if (!(c >= '0' && c <= '9' || letter || extra.indexOf(c) >= 0)) {
                return false;
            }
        }
        return true;
    }

    // --- output -------------------------------------------------------------------------------

    private static final String TIMER_THREAD = "saslauth-failure-delay";

    private ScheduledThreadPoolExecutor timer() {
        if (timer == null) {
            ThreadFactory tf = r -> {
                Thread t = new Thread(r, TIMER_THREAD);
                t.setDaemon(true);
                return t;
            };
            timer = new ScheduledThreadPoolExecutor(1, tf);
            timer.setRemoveOnCancelPolicy(true);
        }
        return timer;
    }

    private void drainTimer() {
        if (timer == null) {
            return;
        }
        timer.shutdown(); // delayed FAILs still go out, then the thread ends
        try {
            long wait = settings.failureDelay().toMillis() + 10_000;
            if (!timer.awaitTermination(wait, TimeUnit.MILLISECONDS)) {
                timer.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            timer.shutdownNow();
        }
    }

    private void send(String line) {
        synchronized (writeLock) {
            writeRaw(line + "\n");
        }
    }

    private void flush() {
        synchronized (writeLock) {
            flushLocked();
        }
    }

    private boolean isOutputBroken() {
        synchronized (writeLock) {
            return outputBroken;
        }
    }

    private void writeRaw(String text) {
        if (outputBroken) {
            return;
        }
        try {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            outputBroken = true;
        }
    }

    private void flushLocked() {
        if (outputBroken) {
            return;
        }
        try {
            out.flush();
        } catch (IOException e) {
            outputBroken = true;
        }
    }
}
