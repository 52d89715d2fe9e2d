package org.saslauth.fuzz;

import static org.saslauth.fuzz.Wire.check;
import static org.saslauth.fuzz.Wire.show;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the server may answer to each input line, given the exchanges pending before it.
 *
 * <p>The rule checked is "every AUTH with a valid id gets exactly one final reply (OK or FAIL)",
 * with the engine's documented exceptions: an exchange still pending at end of input gets none;
 * an AUTH reusing a pending id gets one FAIL that ends both; an exchange pushed out by the
 * pending limit gets one FAIL "Abandoned request"; and a CONT (or an overlong line) naming an id
 * that is not pending gets a FAIL of its own. The model does not predict what a mechanism
 * decides, only that it answers once, with a CONT the mechanism could send, or an OK that valid
 * credentials earned.
 *
 * <p>With a failure delay or the per-address penalty, failures decided by a mechanism may be sent
 * later from a timer thread; they are collected by reason and matched against the ones owed at
 * the end. While an id's failure is held back, the held-back FAIL is its one reply: a CONT for
 * it gets no reply, and an AUTH reusing it none either: the engine closes the connection (it
 * reads no further line), as Dovecot does.
 *
 * <p>With a rate limit, any AUTH that got past its id checks may instead get
 * {@code FAIL <id> reason=Too many requests temp} as its one reply, but not the first
 * {@code maxAuthRate} of a connection.
 *
 * <p>The pending limit evicts the oldest exchange (one FAIL "Abandoned request") only when a new
 * exchange stays pending after its first step. Mechanism names match ASCII-case-insensitively.
 */
final class SessionModel {

    static final int MAX_LINE = 16384;
    static final String USER = "alice";
    static final byte[] PASSWORD = "s3cret-Pa55".getBytes(StandardCharsets.US_ASCII);

    /** Reasons of FAILs that the failure delay holds back. */
    private static final Set<String> DELAYED_REASONS = Set.of(
            "Authentication failed", "Authorization as another user is not allowed",
            "Invalid authentication data", "Initial response required",
            "Temporary authentication failure", "Invalid base64 data in initial response",
            "Invalid base64 data in continued response");

    private static final Map<String, Set<String>> CHALLENGES = Map.of(
            "PLAIN", Set.of(""),
            "LOGIN", Set.of("VXNlcm5hbWU6", "UGFzc3dvcmQ6"),
            "OREORE", Set.of());

    /**
     * Mechanisms whose challenges are random (CRAM-MD5's, SCRAM's nonces) and whose OK needs a
     * proof made from the challenge, which no fuzzed input holds: any base64 CONT, never an OK.
     */
    private static final Set<String> CHALLENGE_RESPONSE = Set.of("CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256");

    private final List<String> enabled;
    private final int maxPending;
    private final boolean delayed;
    private final LinkedHashMap<String, String> pending = new LinkedHashMap<>();
    private final Map<String, Integer> owed = new HashMap<>();
    private final Map<String, Integer> late = new HashMap<>();
    /** Held-back FAILs that went out during the segment being handled, by id. */
    private final Map<String, Integer> lateHere = new HashMap<>();
    private final int maxAuthRate;
    private int rateChecked;
    private boolean stopped;
    /** The engine closed the connection after a reused id: nothing more is read. */
    private boolean closed;
    /** Whether the server read another line after the one being handled. */
    private boolean readOn;
    private boolean finalSegment;
    /** A held FAIL went out while its id was reused on the last line: the end cannot be told. */
    private boolean uncertain;
    private int passwordOks;

    SessionModel(List<String> enabled, int maxPending, boolean delayed, int maxAuthRate) {
        this.enabled = enabled;
        this.maxPending = maxPending;
        this.delayed = delayed;
        this.maxAuthRate = maxAuthRate;
    }

    boolean stopped() {
        return stopped;
    }

    boolean closed() {
        return closed;
    }

    int expectedStatus() {
        return stopped ? 4 : 0;
    }

    /** How many OKs for a password mechanism were checked. */
    int passwordOks() {
        return passwordOks;
    }

    /**
     * Checks the replies to one input segment (a line with its LF).
     *
     * @param accepted how many times the credential store said ACCEPTED while the line was handled
     */
    void segment(byte[] segment, List<Wire.Reply> replies, int accepted, boolean readOn, boolean finalSegment) {
        this.readOn = readOn;
        this.finalSegment = finalSegment;
        List<Wire.Reply> r = new ArrayList<>();
        lateHere.clear();
        for (Wire.Reply reply : replies) {
            if (delayed && reply.kind().equals("FAIL") && DELAYED_REASONS.contains(reason(reply))) {
                late.merge(reply.id(), 1, Integer::sum);
                lateHere.merge(reply.id(), 1, Integer::sum);
            } else {
                r.add(reply);
            }
        }
        int okAccepted = handle(segment, r);
        check(okAccepted == accepted, "store accepted " + accepted + " time(s) but " + okAccepted
                + " password OK(s) sent for " + show(new String(segment, StandardCharsets.UTF_8)));
    }

    /** At the end: every failure held back went out, once. */
    void finish() {
        if (delayed && !uncertain) {
            Map<String, Integer> o = new HashMap<>(owed);
            check(o.equals(late), "held-back FAILs owed " + o + " but sent " + late);
        }
    }

    /** Returns how many OKs for password mechanisms were sent. */
    private int handle(byte[] segment, List<Wire.Reply> r) {
        int len = segment.length;
        if (len > 0 && segment[len - 1] == '\n') {
            len--;
        }
        byte[] raw = Arrays.copyOf(segment, len);
        int stripped = len > 0 && raw[len - 1] == '\r' ? len - 1 : len;
        if (stripped > MAX_LINE) {
            String[] f = new String(Arrays.copyOf(raw, 64), StandardCharsets.UTF_8).split("\t", -1);
            if ((f[0].equals("AUTH") || f[0].equals("CONT")) && f.length > 2 && Wire.validId(f[1])) {
                pending.remove(f[1]);
                expectFailUnlessHeld(r, f[1], "Line too long");
            } else {
                expectNone(r);
            }
            return 0;
        }
        String line = new String(raw, 0, stripped, StandardCharsets.UTF_8);
        String[] f = line.split("\t", -1);
        switch (f[0]) {
            case "AUTH" -> {
                return auth(f, r);
            }
            case "CONT" -> {
                return cont(f, r);
            }
            case "VERSION" -> {
                if (f.length < 2 || !f[1].equals("1")) {
                    stopped = true;
                }
                expectNone(r);
            }
            default -> expectNone(r);
        }
        return 0;
    }

    private int auth(String[] f, List<Wire.Reply> r) {
        if (f.length < 3) {
            if (f.length == 2 && Wire.validId(f[1])) {
                pending.remove(f[1]);
                expectFailUnlessHeld(r, f[1], "Malformed request");
            } else {
                expectNone(r);
            }
            return 0;
        }
        String id = f[1];
        if (!Wire.validId(id)) {
            expectNone(r);
            return 0;
        }
        if (pending.remove(id) != null) {
            expectFail(r, id, "Duplicate request id");
            return 0;
        }
        rateChecked++; // counts AUTHs that may have reached the limit, too many rather than too few
        if (!r.isEmpty() && isFail(r.get(0), id, "Too many requests")) {
            check(maxAuthRate > 0 && rateChecked > maxAuthRate, "AUTH " + rateChecked + " refused by a rate limit of "
                    + maxAuthRate + ": " + show(r.get(0).line()));
            check(r.size() == 1 && r.get(0).line().equals("FAIL\t" + id + "\treason=Too many requests\tcode=temp_fail"),
                    "expected one FAIL Too many requests for id " + id + ", got " + lines(r));
            return 0;
        }
        Held h = held(id);
        if (h == Held.YES || h == Held.MAYBE && !readOn) {
            if (h == Held.MAYBE && finalSegment) {
                uncertain = true; // the FAIL went out before or after the line was read
                return 0;
            }
            check(!readOn, "server read on after AUTH reused id " + id + " whose FAIL was held back");
            expectNone(r);
            closed = true;
            return 0;
        }
        String resp = null;
        for (int i = 3; i < f.length; i++) {
            if (f[i].startsWith("resp=")) {
                resp = f[i].substring(5);
            }
        }
        String mech = enabled.stream().filter(m -> equalsAsciiIgnoreCase(m, f[2])).findFirst().orElse(null);
        if (mech == null) {
            expectFail(r, id, "Unsupported authentication mechanism");
            return 0;
        }
        byte[] initial = null;
        if (resp != null) {
            initial = resp.isEmpty() || resp.equals("=") ? new byte[0] : decode(resp);
            if (initial == null) {
                expectDelayableFail(r, id);
                return 0;
            }
        }
        String oldest = pending.size() >= maxPending ? pending.keySet().iterator().next() : null;
        pending.put(id, mech);
        if (oldest == null) {
            return step(id, mech, initial, r);
        }
        // The limit is reached: the oldest goes, with one FAIL before or after the new one's reply.
        List<Wire.Reply> rest = new ArrayList<>(r);
        boolean abandoned = rest.removeIf(x -> isFail(x, oldest, "Abandoned request"));
        int oks = step(id, mech, initial, rest);
        boolean stays = pending.containsKey(id);
        if (abandoned) {
            check(stays, "exchange " + oldest + " abandoned although the new exchange " + id
                    + " ended at its first step");
            pending.remove(oldest);
        } else {
            check(!stays, "no FAIL Abandoned request for " + oldest + ", got " + lines(r));
        }
        return oks;
    }

    /** Whether the FAIL of an id may be held back by the failure delay or the penalty. */
    private enum Held { NO, MAYBE, YES }

    /**
     * YES when the id's FAIL was owed and had not gone out even by the end of the segment's
     * replies; MAYBE when it went out during them (before or after the engine read the line).
     */
    private Held held(String id) {
        int o = owed.getOrDefault(id, 0);
        int l = late.getOrDefault(id, 0);
        if (o > l) {
            return Held.YES;
        }
        return o > l - lateHere.getOrDefault(id, 0) ? Held.MAYBE : Held.NO;
    }

    /** A FAIL for a broken line, except for an id whose held-back FAIL is its one reply. */
    private void expectFailUnlessHeld(List<Wire.Reply> r, String id, String reason) {
        Held h = held(id);
        if (h == Held.YES || h == Held.MAYBE && r.isEmpty()) {
            expectNone(r);
        } else {
            expectFail(r, id, reason);
        }
    }

    private static boolean isFail(Wire.Reply reply, String id, String reason) {
        return reply.kind().equals("FAIL") && reply.id().equals(id) && reason.equals(reason(reply));
    }

    private static boolean equalsAsciiIgnoreCase(String a, String b) {
        if (a.length() != b.length()) {
            return false;
        }
        for (int i = 0; i < a.length(); i++) {
            char x = a.charAt(i);
            char y = b.charAt(i);
            if (x != y && (x | 0x20) != (y | 0x20) || x != y && ((x | 0x20) < 'a' || (x | 0x20) > 'z')) {
                return false;
            }
        }
        return true;
    }

    private int cont(String[] f, List<Wire.Reply> r) {
        if (f.length < 2 || !Wire.validId(f[1])) {
            expectNone(r);
            return 0;
        }
        String id = f[1];
        String mech = pending.get(id);
        if (mech == null) {
            Held h = held(id);
            if (h == Held.YES || h == Held.MAYBE && r.isEmpty()) {
                expectNone(r); // the held-back FAIL is the id's one reply
                return 0;
            }
            expectFail(r, id, "Unknown request id");
            return 0;
        }
        byte[] data = decode(f.length > 2 ? f[2] : "");
        if (data == null) {
            pending.remove(id);
            expectDelayableFail(r, id);
            return 0;
        }
        return step(id, mech, data, r);
    }

    /** The one answer of a mechanism to a step; {@code data} is what the client sent, or null. */
    private int step(String id, String mech, byte[] data, List<Wire.Reply> r) {
        if (r.isEmpty() && delayed) {
            pending.remove(id);
            owed.merge(id, 1, Integer::sum);
            return 0;
        }
        check(r.size() == 1, "expected one reply for id " + id + ", got " + lines(r));
        Wire.Reply reply = r.get(0);
        check(reply.id().equals(id), "reply for id " + reply.id() + " where " + id + " was due: " + show(reply.line()));
        switch (reply.kind()) {
            case "CONT" -> {
                check(CHALLENGE_RESPONSE.contains(mech) ? decode(reply.params().get(0)) != null
                        : CHALLENGES.get(mech).contains(reply.params().get(0)), mech + " cannot send " + show(reply.line()));
                return 0;
            }
            case "OK" -> {
                pending.remove(id);
                check(!CHALLENGE_RESPONSE.contains(mech), mech + " OK without a proof: " + show(reply.line()));
                String user = org.saslauth.protocol.Escaping.unescape(reply.param("user"));
                if (mech.equals("OREORE")) {
                    check(data != null && user.equals(new String(data, StandardCharsets.UTF_8)),
                            "OREORE OK for a name the client did not send: " + show(reply.line()));
                    return 0;
                }
                check(user.equals(USER), "OK for " + show(user) + " who has no password");
                check(data != null && (mech.equals("LOGIN") ? Arrays.equals(data, PASSWORD) : endsWithPassword(data)),
                        mech + " OK without the password in the last response: " + show(reply.line()));
                passwordOks++;
                return 1;
            }
            default -> {
                check(!delayed, "FAIL not held back by the failure delay: " + show(reply.line()));
                pending.remove(id);
                return 0;
            }
        }
    }

    private static boolean endsWithPassword(byte[] data) {
        byte[] tail = ("\0" + USER + "\0" + new String(PASSWORD, StandardCharsets.US_ASCII))
                .getBytes(StandardCharsets.US_ASCII);
        return data.length >= tail.length
                && Arrays.equals(Arrays.copyOfRange(data, data.length - tail.length, data.length), tail);
    }

    private void expectNone(List<Wire.Reply> r) {
        check(r.isEmpty(), "expected no reply, got " + lines(r));
    }

    private void expectFail(List<Wire.Reply> r, String id, String reason) {
        check(r.size() == 1, "expected one FAIL for id " + id + ", got " + lines(r));
        Wire.Reply reply = r.get(0);
        check(reply.kind().equals("FAIL") && reply.id().equals(id) && reason.equals(reason(reply)),
                "expected FAIL " + id + " reason=" + reason + ", got " + show(reply.line()));
    }

    private void expectDelayableFail(List<Wire.Reply> r, String id) {
        if (delayed) {
            expectNone(r);
            owed.merge(id, 1, Integer::sum);
            return;
        }
        check(r.size() == 1 && r.get(0).kind().equals("FAIL") && r.get(0).id().equals(id),
                "expected one FAIL for id " + id + ", got " + lines(r));
    }

    private static String reason(Wire.Reply reply) {
        String reason = reply.param("reason");
        return reason == null ? null : org.saslauth.protocol.Escaping.unescape(reason);
    }

    private static byte[] decode(String base64) {
        try {
            return Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static String lines(List<Wire.Reply> r) {
        return r.stream().map(x -> show(x.line())).toList().toString();
    }
}
