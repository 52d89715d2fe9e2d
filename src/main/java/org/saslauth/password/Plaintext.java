package org.saslauth.password;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Optional;

/** {@code PLAIN}, {@code CLEAR}, {@code CLEARTEXT}: the password itself. */
final class Plaintext implements Scheme {

    static final Plaintext INSTANCE = new Plaintext();

    private Plaintext() {}

    @Override
    public Check check(byte[] raw, Optional<String> user) {
        return new Stored(raw);
    }

    /** {@link ScramSecret#nobody} for a store whose usual entry holds the password, made on first use. */
    static ScramSecret nobody() {
        return Nobody.SECRET;
    }

    private static final class Nobody {
        static final Stored SECRET = make();

        private static Stored make() {
            byte[] password = new byte[32];
            new java.security.SecureRandom().nextBytes(password);
            return new Stored(password);
        }
    }

    /**
     * The password itself, from which any mechanism's key can be made: the CRAM-MD5 key state,
     * kept once made, and SCRAM's keys, derived again at each proof (with the salt and iterations
     * the client was sent, which follow the store's usual entry) and never kept, so that every
     * proof costs one derivation, as an unknown user's does in a store of such entries.
     */
    private static final class Stored implements Check, CramMd5Secret, ScramSecret {
        private final byte[] password;
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
        public boolean serves(ScramHash hash) {
            return true;
        }

        @Override
        public Optional<ScramSalt> ownSalt(ScramHash hash) {
            return Optional.empty();
        }

        @Override
        public ScramKeys keys(ScramHash hash, ScramSalt salt) {
            return Scram.of(hash).derive(password, salt.salt(), salt.iterations());
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
