package org.saslauth.password;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReferenceArray;

/** {@code PLAIN}, {@code CLEAR}, {@code CLEARTEXT}: the password itself. */
final class Plaintext implements Scheme {

    static final Plaintext INSTANCE = new Plaintext();

    private Plaintext() {}

    @Override
    public Check check(byte[] raw, Optional<String> user) {
        return new Stored(raw);
    }

    /**
     * The password itself, from which any mechanism's key can be made. The keys made are kept
     * with it: the CRAM-MD5 key state, and the SCRAM keys last derived, one set per hash (a
     * mechanism asks with the same salt for the same user every time in one process, and a
     * derivation costs milliseconds).
     */
    private static final class Stored implements Check, CramMd5Secret, ScramSecret {
        private final byte[] password;
        private final AtomicReferenceArray<ScramKeys> derived = new AtomicReferenceArray<>(ScramHash.values().length);
        /** The HMAC-MD5 key state, made on first use. */
        private volatile byte[] cramState;

        Stored(byte[] password) {
            this.password = password;
        }

        @Override
        public boolean matches(byte[] candidate) {
            return MessageDigest.isEqual(password, candidate);
        }

        @Override
        public byte[] digest(byte[] challenge) {
            byte[] state = cramState;
            if (state == null) {
                state = CramMd5.INSTANCE.generate(password, null);
                cramState = state;
            }
            return CramMd5.hmac(state, challenge);
        }

        @Override
        public Optional<ScramKeys> keys(ScramHash hash, byte[] salt) {
            ScramKeys last = derived.get(hash.ordinal());
            if (last == null || !Arrays.equals(last.salt(), salt)) {
                last = Scram.of(hash).derive(password, salt, DERIVED_ITERATIONS);
                derived.set(hash.ordinal(), last);
            }
            return Optional.of(new ScramKeys(last.iterations(), last.salt().clone(), last.storedKey().clone(),
                    last.serverKey().clone()));
        }

        @Override
        public boolean emptyPassword() {
            return password.length == 0;
        }
    }

    @Override
    public byte[] generate(byte[] password, Params params) {
        return password.clone();
    }

    /**
     * {@code PLAIN-TRUNC}: {@code <length>-<password>}, for passwords that some old system stored
     * cut to a length. When the stored part is exactly that length, a candidate at least that long
     * matches on its prefix (Dovecot's {@code plain_trunc_verify}); otherwise the whole password
     * must match. Length 0 is refused, since {@code 0-} would accept any password. Only read,
     * never made: a new password goes in {@code PLAIN} or a real hash.
     */
    static final class Truncated implements Scheme {

        static final Truncated INSTANCE = new Truncated();

        /** Why {@code saslauth hash} does not make it. */
        static final String NOT_MADE = "will not make {PLAIN-TRUNC}: it is only for importing passwords that"
                + " an old system stored truncated, and one made of a whole password would also accept every"
                + " longer password that starts with it; use PLAIN or a real hash such as "
                + PasswordSchemes.DEFAULT;

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
            if (length == 0) {
                throw new IllegalArgumentException("{PLAIN-TRUNC} length must be at least 1"
                        + " (a length of 0 accepts any password)");
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
            throw new IllegalArgumentException(NOT_MADE);
        }
    }
}
