package org.saslauth.password;

import java.util.Optional;

/** A stored password as read from a passwd-file line, ready to check candidates against. */
public interface PasswordHash {

    /** The scheme name, upper case, as in {@code {SHA512-CRYPT}}. */
    String scheme();

    /**
     * Whether {@code password} matches, compared in constant time. Does not keep the bytes.
     * Takes no slot: a login checks through {@link CostlyChecks#check}, which does.
     */
    boolean matches(byte[] password);

    /** What CRAM-MD5 needs, when this entry holds it; empty for one-way hashes. */
    default Optional<CramMd5Secret> cramMd5() {
        return Optional.empty();
    }

    /** What SCRAM needs, when this entry holds it; empty for one-way hashes. */
    default Optional<ScramSecret> scram() {
        return Optional.empty();
    }

    /**
     * About how long one check takes, in microseconds of a 256-byte password on a reference
     * machine: good for ranking entries, not for predicting a time.
     */
    long cost();
}
