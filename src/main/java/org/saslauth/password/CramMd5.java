package org.saslauth.password;

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

    @Override
    public Check check(byte[] raw, Optional<String> user) {
        return Scheme.byRegenerating(this, raw, user);
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
            int[] x = new int[16];
            for (int i = 0; i < 16; i++) {
                x[i] = (block[4 * i] & 0xff) | (block[4 * i + 1] & 0xff) << 8
                        | (block[4 * i + 2] & 0xff) << 16 | (block[4 * i + 3] & 0xff) << 24;
            }
            int a = 0x67452301;
            int b = 0xefcdab89;
            int c = 0x98badcfe;
            int d = 0x10325476;
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
            return new int[] {0x67452301 + a, 0xefcdab89 + b, 0x98badcfe + c, 0x10325476 + d};
        }
    }
}
