package org.saslauth.password;

/**
 * The costs a stored password may ask for, and what a check of each costs: the one place that
 * knows how long a hash takes.
 *
 * <p>Postfix's smtpd waits at most 10 s for saslauth's answer. The limits are set so that the
 * costliest entry they allow checks a password of the longest length a login accepts (256 bytes)
 * in about 2 s on a 2-core AMD EPYC with the launcher's JVM flags (C1 only): a fifth of Postfix's
 * limit, for a busy machine or several checks at once. Measured there, 256-byte password:
 * <pre>
 * SHA512-CRYPT rounds=100000   0.89 s (0.23 s for 16 bytes)   limit 200000: ~1.8 s
 * SHA256-CRYPT rounds=100000   0.56 s (0.30 s for 16 bytes)   limit 200000: ~1.1 s
 * BLF-CRYPT cost 13            0.81 s (each step doubles)     limit 14:     ~1.6 s
 * PBKDF2 500000 rounds         0.75 s                         limit 1000000: ~1.5 s
 * SCRAM-SHA-256 500000         0.67 s                         limit 1000000: ~1.3 s
 * ARGON2ID m=64 MiB t=3        0.75 s; t=8: 1.9-2.6 s         limit m*t 384 MiB: ~1.5-2 s
 * yescrypt (libxcrypt) 16 MiB  0.025 s                        limit 256 MiB: ~0.4 s
 * </pre>
 * Argon2's memory is bounded besides by the heap ({@link Argon2}).
 */
final class Costs {

    static final int MAX_SHA_CRYPT_ROUNDS = 200_000;
    static final int MAX_BCRYPT_COST = 14;
    /** PBKDF2 rounds and SCRAM iterations. */
    static final int MAX_ITERATIONS = 1_000_000;
    /** Argon2 memory in KiB times passes. */
    static final long MAX_ARGON2_KIB_PASSES = 384L * 1024;
    /**
     * yescrypt's and scrypt's memory, {@code 128 * N * r} bytes, native (libxcrypt's): Debian's
     * default ({@code $y$j9T$}, N 4096, r 32) takes 16 MiB; 256 MiB is {@code
     * YESCRYPT_COST_FACTOR} 9 of login.defs.
     */
    static final long MAX_YESCRYPT_BYTES = 256L * 1024 * 1024;

    private Costs() {}

    /**
     * Refuses a cost over its limit.
     *
     * @throws IllegalArgumentException naming the scheme, the cost and the limit
     */
    static void require(boolean withinLimit, String scheme, String cost, String limit) {
        if (!withinLimit) {
            throw new IllegalArgumentException("{" + scheme + "} " + cost + " is over saslauth's limit of " + limit
                    + ": a login would take several seconds, and Postfix waits at most 10 s; hash it again"
                    + " at a lower cost");
        }
    }

    // Estimates of one check of a 256-byte password, in microseconds on the machine above. They
    // only rank entries (to pick the one an unknown user is checked against), so rough is enough.

    static long shaCrypt(boolean sha512, int rounds) {
        return (long) rounds * (sha512 ? 9 : 6);
    }

    static long md5Crypt() {
        return 3_000;
    }

    static long bcrypt(int cost) {
        return 100L << cost;
    }

    static long iterations(int n) {
        return n * 3L / 2;
    }

    static long argon2(long memoryKiB, long passes) {
        return memoryKiB * passes * 4;
    }

    /** yescrypt or scrypt through libxcrypt: some 25 ms for 16 MiB. */
    static long yescrypt(long bytes) {
        return bytes / 700;
    }

    /** A digest or a comparison. */
    static final long CHEAP = 10;
}
