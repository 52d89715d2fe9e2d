package org.saslauth.mech;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Random;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.saslauth.Deadline;
import org.saslauth.password.ScramHash;
import org.saslauth.store.UserNameFormat;

/**
 * Every message of a CRAM-MD5 and a SCRAM exchange mutated (bytes flipped, cut, repeated,
 * inserted, replaced by noise, invalid UTF-8, oversized) and sent in its place: each step
 * answers a challenge or a failure, never throws, and never lets in a message that is not the
 * good one (or one that means the same: base64 without its padding, hex in capitals).
 * {@code -Dfuzz.seed=S} replays a run; {@code -Dfuzz.tries=N} scales it.
 */
class ChallengeMechanismFuzzTest {

    static final long SEED = Long.getLong("fuzz.seed", System.nanoTime());
    static final int TRIES = Integer.getInteger("fuzz.tries", 8000) / 8;
    /** The users of SCRAM tries whose key the server derives at each login, which is slow. */
    static final int DERIVING = 8;

    final Credentials credentials;

    ChallengeMechanismFuzzTest() throws Exception {
        credentials = new Credentials(ScramMechanismTest.store(), UserNameFormat.AS_IS);
    }

    static byte[] mutate(byte[] good, Random r) {
        byte[] b = good.clone();
        switch (r.nextInt(9)) {
            case 0 -> {
                if (b.length > 0) {
                    b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
                }
            }
            case 1 -> b = Arrays.copyOf(b, b.length == 0 ? 0 : r.nextInt(b.length));
            case 2 -> {
                int at = r.nextInt(b.length + 1);
                byte[] out = new byte[b.length + 1];
                System.arraycopy(b, 0, out, 0, at);
                out[at] = (byte) ",= \0\u00ff".charAt(r.nextInt(5));
                System.arraycopy(b, at, out, at + 1, b.length - at);
                b = out;
            }
            case 3 -> {
                b = new byte[r.nextInt(64)];
                r.nextBytes(b);
            }
            case 4 -> {
                byte[] out = new byte[b.length * 2];
                System.arraycopy(b, 0, out, 0, b.length);
                System.arraycopy(b, 0, out, b.length, b.length);
                b = out;
            }
            case 5 -> {
                if (b.length > 0) {
                    b[r.nextInt(b.length)] = (byte) (0x80 + r.nextInt(0x80)); // a lone UTF-8 continuation or lead byte
                }
            }
            case 6 -> {
                byte[] out = Arrays.copyOf(b, b.length + 12000);
                Arrays.fill(out, b.length, out.length, (byte) 'A');
                b = out;
            }
            case 7 -> {
                if (b.length > 1) {
                    int i = r.nextInt(b.length - 1);
                    byte t = b[i];
                    b[i] = b[i + 1];
                    b[i + 1] = t;
                }
            }
            default -> {
                if (b.length > 0) {
                    b[r.nextInt(b.length)] = (byte) r.nextInt(128);
                }
            }
        }
        return b;
    }

    /**
     * What a client-final message says: all but the proof as sent, and the proof's bytes (base64
     * may drop its padding, and the spare bits of its last character are not read).
     */
    static String meaning(byte[] message) {
        String s = new String(message, StandardCharsets.UTF_8);
        int p = s.lastIndexOf(",p=");
        if (p < 0) {
            return s;
        }
        try {
            return s.substring(0, p) + ",p=" + java.util.HexFormat.of().formatHex(
                    java.util.Base64.getDecoder().decode(s.substring(p + 3)));
        } catch (IllegalArgumentException e) {
            return s;
        }
    }

    /** The user as sent, the digest in any case. */
    static String cramMeaning(byte[] message) {
        String s = new String(message, StandardCharsets.UTF_8);
        int space = s.lastIndexOf(' ');
        return s.substring(0, space + 1) + s.substring(space + 1).toLowerCase(java.util.Locale.ROOT);
    }

    @ParameterizedTest
    @EnumSource(ScramHash.class)
    void scram(ScramHash hash) throws Exception {
        Random r = new Random(SEED ^ hash.ordinal());
        for (int t = 0; t < TRIES; t++) {
            String user = r.nextInt(DERIVING) == 0 ? "plain" : hash == ScramHash.SHA_1 ? "sha1" : "sha256";
            int broken = r.nextInt(3); // which message is mutated
            ScramClient client = new ScramClient(hash, user, "pencil", "fuzz" + t);
            Exchange ex = new ScramMechanism(hash).newExchange(credentials);
            String context = "seed " + SEED + " try " + t + " message " + broken;
            try {
                byte[] first = client.first().getBytes(StandardCharsets.UTF_8);
                byte[] sent = broken == 0 ? mutate(first, r) : first;
                Step s = r.nextBoolean() ? ex.start(Optional.of(sent), Deadline.NONE) : next(ex, sent);
                if (!(s instanceof Step.Challenge c)) {
                    assertFalse(s instanceof Step.Success, context);
                    continue;
                }
                boolean firstIntact = Arrays.equals(sent, first);
                String serverFirst = new String(c.data(), StandardCharsets.UTF_8);
                byte[] last = firstIntact ? client.last(serverFirst).getBytes(StandardCharsets.UTF_8) : sent;
                byte[] sentLast = broken == 1 ? mutate(last, r) : last;
                s = ex.next(sentLast, Deadline.NONE);
                boolean lastIntact = firstIntact && meaning(sentLast).equals(meaning(last));
                if (!(s instanceof Step.Challenge)) {
                    assertFalse(s instanceof Step.Success, context);
                    continue;
                }
                if (!lastIntact) {
                    fail(context + ": a changed client-final message got the server signature: "
                            + new String(sentLast, StandardCharsets.UTF_8) + " for " + new String(last, StandardCharsets.UTF_8));
                }
                byte[] ack = broken == 2 ? mutate(new byte[0], r) : new byte[0];
                s = ex.next(ack, Deadline.NONE);
                assertEquals(ack.length == 0, s instanceof Step.Success, context);
                assertFalse(ex.next(new byte[0], Deadline.NONE) instanceof Step.Success, context + ": a step after the end");
            } catch (RuntimeException e) {
                throw new AssertionError(context, e);
            }
        }
    }

    private static Step next(Exchange ex, byte[] first) {
        Step s = ex.start(Optional.empty(), Deadline.NONE);
        assertEquals(0, ((Step.Challenge) s).data().length);
        return ex.next(first, Deadline.NONE);
    }

    @org.junit.jupiter.api.Test
    void cramMd5() throws Exception {
        Random r = new Random(SEED);
        Mac mac = Mac.getInstance("HmacMD5");
        mac.init(new SecretKeySpec("pencil".getBytes(StandardCharsets.US_ASCII), "HmacMD5"));
        for (int t = 0; t < TRIES; t++) {
            Exchange ex = new CramMd5Mechanism().newExchange(credentials);
            String context = "seed " + SEED + " try " + t;
            try {
                Step s = ex.start(r.nextInt(4) == 0 ? Optional.of(mutate(new byte[0], r)) : Optional.empty(), Deadline.NONE);
                if (!(s instanceof Step.Challenge c)) {
                    assertFalse(s instanceof Step.Success, context);
                    continue;
                }
                byte[] good = ("plain " + HexFormat.of().formatHex(mac.doFinal(c.data()))).getBytes(StandardCharsets.US_ASCII);
                byte[] sent = mutate(good, r);
                s = ex.next(sent, Deadline.NONE);
                assertEquals(cramMeaning(sent).equals(cramMeaning(good)), s instanceof Step.Success, context);
                assertFalse(ex.next(good, Deadline.NONE) instanceof Step.Success, context + ": a second answer");
            } catch (RuntimeException e) {
                throw new AssertionError(context, e);
            }
        }
    }
}
