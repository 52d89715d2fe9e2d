package org.saslauth.password;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * One entry of Dovecot's scheme table ({@code password-scheme.c}): how the raw bytes are encoded
 * by default, how long they must be, how to check a password against them and how to make them.
 */
interface Scheme {

    /** Encoding when the name has no suffix. */
    default Encoding encoding() {
        return Encoding.NONE;
    }

    /**
     * The length of the raw bytes, or 0 when it varies. A fixed-length scheme written without a
     * suffix may be hex or base64 whatever its default {@link #encoding()}, told apart by length,
     * as Dovecot does.
     */
    default int rawLength() {
        return 0;
    }

    /**
     * Reads the stored raw bytes once, so that a malformed entry is reported when the file is
     * loaded rather than at login.
     *
     * @param user the passwd-file user name, for schemes that hash it in (DIGEST-MD5)
     * @throws IllegalArgumentException for data this scheme cannot hold; the message never
     *     repeats the data
     */
    Check check(byte[] raw, Optional<String> user);

    /**
     * Makes the raw bytes for {@code password}.
     *
     * @throws IllegalArgumentException for rounds out of range or a missing user
     */
    byte[] generate(byte[] password, Params params);

    /** A stored password, parsed. */
    @FunctionalInterface
    interface Check {
        /** Compares in constant time; does not keep {@code password}. */
        boolean matches(byte[] password);

        /** About how long a check takes, as {@link Costs} estimates it. */
        default long cost() {
            return Costs.CHEAP;
        }

        /** {@code check} with the cost {@code micros}. */
        static Check costing(long micros, Check check) {
            return new Check() {
                @Override
                public boolean matches(byte[] password) {
                    return check.matches(password);
                }

                @Override
                public long cost() {
                    return micros;
                }
            };
        }
    }

    /** What {@code saslauth hash} (like {@code doveadm pw -r -u}) may pass to a scheme. */
    record Params(OptionalInt rounds, Optional<String> user) {

        /**
         * The rounds asked for, or {@code fallback}.
         *
         * @throws IllegalArgumentException for rounds outside {@code min..max}, naming {@code what}
         */
        int roundsOr(int fallback, int min, int max, String what) {
            if (rounds.isEmpty()) {
                return fallback;
            }
            int r = rounds.getAsInt();
            if (r < min || r > max) {
                throw new IllegalArgumentException(what + " must be between " + min + " and " + max);
            }
            return r;
        }
    }

    /**
     * Dovecot's generic check, for schemes without a verify function of their own: make the hash
     * again and compare the bytes.
     */
    static Check byRegenerating(Scheme scheme, byte[] raw, Optional<String> user) {
        Params params = new Params(OptionalInt.empty(), user);
        return password -> {
            byte[] made = scheme.generate(password, params);
            try {
                return java.security.MessageDigest.isEqual(made, raw);
            } finally {
                java.util.Arrays.fill(made, (byte) 0);
            }
        };
    }
}
