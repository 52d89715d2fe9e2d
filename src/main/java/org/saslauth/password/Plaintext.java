package org.saslauth.password;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Optional;

/** {@code PLAIN}, {@code CLEAR}, {@code CLEARTEXT}: the password itself. */
final class Plaintext implements Scheme {

    static final Plaintext INSTANCE = new Plaintext();

    private Plaintext() {}

    @Override
    public Check check(byte[] raw, Optional<String> user) {
        return password -> MessageDigest.isEqual(raw, password);
    }

    @Override
    public byte[] generate(byte[] password, Params params) {
        return password.clone();
    }

    /**
     * {@code PLAIN-TRUNC}: {@code <length>-<password>}, for passwords cut to a length by some other
     * system. When the stored part is exactly that length, a longer candidate matches on its
     * prefix; otherwise the whole password must match. {@code doveadm pw} makes these without the
     * length (which its own check then refuses); {@code saslauth hash} writes the length.
     */
    static final class Truncated implements Scheme {

        static final Truncated INSTANCE = new Truncated();

        private Truncated() {}

        @Override
        public Check check(byte[] raw, Optional<String> user) {
            int dash = 0;
            long length = 0;
            while (dash < raw.length && raw[dash] >= '0' && raw[dash] <= '9') {
                length = Math.min(length * 10 + (raw[dash] - '0'), Integer.MAX_VALUE);
                dash++;
            }
            if (dash == raw.length || raw[dash] != '-') {
                throw new IllegalArgumentException("{PLAIN-TRUNC} data must be <length>-<password>");
            }
            byte[] stored = Arrays.copyOfRange(raw, dash + 1, raw.length);
            boolean truncated = stored.length == length;
            return password -> {
                if (truncated && password.length >= stored.length) {
                    byte[] prefix = Arrays.copyOf(password, stored.length);
                    try {
                        return MessageDigest.isEqual(prefix, stored);
                    } finally {
                        Arrays.fill(prefix, (byte) 0);
                    }
                }
                return MessageDigest.isEqual(password, stored);
            };
        }

        @Override
        public byte[] generate(byte[] password, Params params) {
            byte[] length = (password.length + "-").getBytes(StandardCharsets.US_ASCII);
            byte[] out = Arrays.copyOf(length, length.length + password.length);
            System.arraycopy(password, 0, out, length.length, password.length);
            return out;
        }
    }
}
