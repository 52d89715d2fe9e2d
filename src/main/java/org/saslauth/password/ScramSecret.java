package org.saslauth.password;

import java.util.Optional;

/**
 * A stored password that can serve SCRAM: one that holds the password itself ({@code {PLAIN}}),
 * from which the keys are derived for each login, or a {@code {SCRAM-SHA-N}} entry, which holds
 * them.
 */
public interface ScramSecret {

    /** Dovecot's iteration count for keys derived from a password at login. */
    int DERIVED_ITERATIONS = 4096;

    /**
     * The keys for {@code hash}, or empty when this entry cannot give them (a
     * {@code {SCRAM-SHA-1}} entry asked for SCRAM-SHA-256).
     *
     * @param salt the salt to derive with when the entry holds the password; an entry with its
     *     own salt ignores it
     */
    Optional<ScramKeys> keys(ScramHash hash, byte[] salt);

    /**
     * Whether the stored password is the empty one, which never logs in. For a
     * {@code {SCRAM-SHA-N}} entry this costs a key derivation, so ask only once the proof holds.
     */
    boolean emptyPassword();

    /**
     * How many SaltedPassword derivations (PBKDF2, the costly part of SCRAM) have run on the
     * calling thread: what a step cost, counted rather than timed.
     */
    static long derivationsOnThisThread() {
        return Scram.derivations();
    }
}
