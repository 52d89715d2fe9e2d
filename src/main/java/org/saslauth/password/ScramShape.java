package org.saslauth.password;

/**
 * What a store's usual SCRAM entry for a hash looks like: the iteration count and salt length
 * it shows a client before the proof, and whether it holds the password ({@code {PLAIN}}), so
 * that the proof derives the keys, or the keys themselves. A user without keys of its own is
 * given this shape, so that its exchange reads like the usual entry's and its proof costs the
 * same.
 *
 * @param derived whether the usual entry holds the password: a proof costs a key derivation
 */
public record ScramShape(int iterations, int saltBytes, boolean derived) {

    /**
     * What Dovecot and {@code saslauth hash} make, 4096 iterations and a 16-byte salt, and keys
     * derived, as from a {@code {PLAIN}} entry: for a store without entries that serve SCRAM, or
     * that cannot tell.
     */
    public static final ScramShape DEFAULT = new ScramShape(4096, 16, true);
}
