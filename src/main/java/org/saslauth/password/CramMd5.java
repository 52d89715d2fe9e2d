package org.saslauth.password;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Optional;

/**
 * {@code CRAM-MD5} and its alias {@code HMAC-MD5}: not a hash of the password but the HMAC-MD5
 * key schedule (RFC 2104), so that a CRAM-MD5 server can answer without the plaintext. Dovecot
 * stores the MD5 state after one block of {@code key XOR opad}, then the state after
 * {@code key XOR ipad}, each as four little-endian 32-bit words: 32 bytes, hex by default.
 * No library exposes a digest's midstate, so the one MD5 block (RFC 1321) is computed here.
 * A password longer than 64 bytes is first replaced by its MD5, as HMAC does.
 */
final class CramMd5 implements Scheme {

    static final CramMd5 INSTANCE = new CramMd5();
    private static final int BLOCK = 64;

    private CramMd5() {}

    @Override
    public Encoding encoding() {
        return Encoding.HEX;
    }

    @Override
    public int rawLength() {
        return 32;
    }

    /** The key state of the empty password, to tell an entry of it. */
    private static final byte[] EMPTY = INSTANCE.generate(new byte[0], null);

    @Override
    public Check check(byte[] raw, Optional<String> user) {
        Check regenerating = Scheme.byRegenerating(this, raw, user);
        return new Stored(raw, regenerating);
    }

    /** A parsed entry: checks passwords, and answers CRAM-MD5 challenges from the key state. */
    private record Stored(byte[] state, Check regenerating) implements Check, CramMd5Secret {
        @Override
        public boolean matches(byte[] password) {
            return regenerating.matches(password);
        }

        @Override
        public byte[] digest(byte[] challenge) {
            return hmac(state, challenge);
        }

        @Override
        public boolean emptyPassword() {
            return MessageDigest.isEqual(state, EMPTY);
        }
    }

    /**
     * HMAC-MD5 of {@code message} from a key state as {@link #generate} makes it: the inner hash
     * goes on from the ipad state over the message, the outer one from the opad state over the
     * inner digest, both counting the 64 bytes of key block already hashed.
     */
    static byte[] hmac(byte[] state, byte[] message) {
        byte[] inner = Md5Block.finish(words(state, 16), BLOCK, message);
        try {
            return Md5Block.finish(words(state, 0), BLOCK, inner);
        } finally {
            Arrays.fill(inner, (byte) 0);
        }
    }

    private static int[] words(byte[] bytes, int offset) {
        int[] w = new int[4];
        for (int i = 0; i < 4; i++) {
            w[i] = (bytes[offset + 4 * i] & 0xff) | (bytes[offset + 4 * i + 1] & 0xff) << 8
                    | (bytes[offset + 4 * i + 2] & 0xff) << 16 | (bytes[offset + 4 * i + 3] & 0xff) << 24;
        }
        return w;
    }

    @Override
    public byte[] generate(byte[] password, Params params) {
        byte[] key = password.length > BLOCK ? Digests.digest("MD5", password) : password;
        byte[] inner = new byte[BLOCK];
        byte[] outer = new byte[BLOCK];
        for (int i = 0; i < BLOCK; i++) {
            byte k = i < key.length ? key[i] : 0;
            inner[i] = (byte) (k ^ 0x36);
            outer[i] = (byte) (k ^ 0x5c);
        }
        byte[] out = new byte[32];
        littleEndian(Md5Block.compress(outer), out, 0);
        littleEndian(Md5Block.compress(inner), out, 16);
        Arrays.fill(inner, (byte) 0);
        Arrays.fill(outer, (byte) 0);
        if (key != password) {
            Arrays.fill(key, (byte) 0);
        }
        return out;
    }

    private static void littleEndian(int[] words, byte[] out, int offset) {
        for (int w = 0; w < 4; w++) {
            for (int b = 0; b < 4; b++) {
                out[offset + 4 * w + b] = (byte) (words[w] >>> (8 * b));
            }
        }
        Arrays.fill(words, 0);
    }

    /** The MD5 compression function (RFC 1321, section 3.4) applied to one block from the IV. */
    static final class Md5Block {
        private static final int[] SHIFT = {7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21};
        private static final int[] T = new int[64];

        static {
            for (int i = 0; i < 64; i++) {
                T[i] = (int) (long) Math.floor(Math.abs(Math.sin(i + 1)) * 4294967296.0);
            }
        }

        private Md5Block() {}

        static int[] compress(byte[] block) {
            return compress(new int[] {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476}, block, 0);
        }

        /**
         * The digest of {@code message} hashed on from {@code state}, after {@code done} bytes
         * (a whole number of blocks) already went into it: MD5's padding counts them.
         */
        static byte[] finish(int[] state, long done, byte[] message) {
            int padded = (message.length + 8) / 64 * 64 + 64;
            byte[] tail = Arrays.copyOf(message, padded);
            tail[message.length] = (byte) 0x80;
            long bits = (done + message.length) * 8;
            for (int i = 0; i < 8; i++) {
                tail[padded - 8 + i] = (byte) (bits >>> (8 * i));
            }
            int[] h = state;
            for (int off = 0; off < padded; off += 64) {
                int[] next = compress(h, tail, off);
                Arrays.fill(h, 0);
                h = next;
            }
            Arrays.fill(tail, (byte) 0);
            byte[] out = new byte[16];
            littleEndian(h, out, 0);
            return out;
        }

        static int[] compress(int[] state, byte[] block, int offset) {
            int[] x = new int[16];
            for (int i = 0; i < 16; i++) {
                int o = offset + 4 * i;
                x[i] = (block[o] & 0xff) | (block[o + 1] & 0xff) << 8
                        | (block[o + 2] & 0xff) << 16 | (block[o + 3] & 0xff) << 24;
            }
            int a = state[0];
            int b = state[1];
            int c = state[2];
            int d = state[3];
            for (int i = 0; i < 64; i++) {
                int f;
                int g;
                int round = i / 16;
                if (round == 0) {
                    f = (b & c) | (~b & d);
                    g = i;
                } else if (round == 1) {
                    f = (d & b) | (~d & c);
                    g = (5 * i + 1) % 16;
                } else if (round == 2) {
                    f = b ^ c ^ d;
                    g = (3 * i + 5) % 16;
                } else {
                    f = c ^ (b | ~d);
                    g = (7 * i) % 16;
                }
                int next = b + Integer.rotateLeft(a + f + T[i] + x[g], SHIFT[round * 4 + i % 4]);
                a = d;
                d = c;
                c = b;
                b = next;
            }
            Arrays.fill(x, 0);
            return new int[] {state[0] + a, state[1] + b, state[2] + c, state[3] + d};
        }
    }
}
