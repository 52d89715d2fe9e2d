package org.saslauth.password;

import java.util.Optional;

/**
 * A stored password that can serve SCRAM: one that holds the password itself ({@code {PLAIN}}),
 * from which the keys are derived at each proof with any salt and iteration count, or a
 * {@code {SCRAM-SHA-N}} entry, which holds them with its own.
 *
 * <p>{@link #ownSalt} costs nothing, so that a server-first message costs the same for every
 * user. {@link #keys} costs one key derivation (PBKDF2, at the iterations of the salt) for an
 * entry that holds the password and none for one that holds the keys.
 */
public interface ScramSecret {

    /** Whether this entry can give keys for {@code hash}: a {@code {SCRAM-SHA-1}} entry cannot for SCRAM-SHA-256. */
    boolean serves(ScramHash hash);

    /**
     * The iterations and salt of the keys this entry holds for {@code hash}; empty for an entry
     * that holds the password (any salt will do) or cannot serve {@code hash}.
     */
    Optional<ScramSalt> ownSalt(ScramHash hash);

    /**
     * The keys for {@code hash}, which this entry {@link #serves}, with {@code salt}: the
     * {@link #ownSalt} when the entry has one, any otherwise. For an entry that holds the
     * password this is the key derivation. The caller wipes them.
     */
    ScramKeys keys(ScramHash hash, ScramSalt salt);

    /**
     * Whether the stored password is the empty one, which never logs in. For a
     * {@code {SCRAM-SHA-N}} entry this costs a key derivation, the first time it is asked, so ask
     * only once the proof holds.
     */
    boolean emptyPassword();

    /**
     * The secret of nobody, whose keys stand in for those of a user without an entry that can
     * serve, so that the proof of such a user costs what the store's usual user's does: with
     * {@code derived}, a {@code {PLAIN}} entry of a random password made once per process (one
     * derivation); without, random keys (none). Its keys are never to let anyone in.
     */
    static ScramSecret nobody(boolean derived) {
        return derived ? Plaintext.nobody() : Scram.nobodyWithKeys();
    }

    /**
     * How many SaltedPassword derivations (PBKDF2, the costly part of SCRAM) have run on the
     * calling thread: what a step cost, counted rather than timed.
     */
    static long derivationsOnThisThread() {
        return Scram.derivations();
    }
}
