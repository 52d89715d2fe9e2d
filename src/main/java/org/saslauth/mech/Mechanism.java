package org.saslauth.mech;

import java.util.Set;

/**
 * A SASL mechanism: a stateless factory announced in the handshake that makes one fresh
 * {@link Exchange} per authentication attempt.
 *
 * <p>A mechanism never sees the wire: the engine decodes base64, strips the {@code resp=} and
 * {@code \001} escaping, and hands the mechanism raw bytes. To add one, write a class that
 * implements this interface and list it in {@link Mechanisms#BUILT_IN}.
 */
public interface Mechanism {

    /** Upper-case name as announced in {@code MECH} and matched case-insensitively. */
    String name();

    /** Flags announced with the {@code MECH} line; Postfix filters mechanisms on them. */
    Set<Flag> flags();

    /**
     * What the mechanism needs of a passdb: a password checked (PLAIN, LOGIN, the default), the
     * stored secret itself (CRAM-MD5, SCRAM), or nothing. A start refuses a passdb that cannot
     * give it, rather than failing every login.
     */
    default Need needs() {
        return Need.VERIFY;
    }

    /**
     * False for a mechanism that trusts the client without asking anyone: its steps run on the
     * engine's thread and the penalty never sees them.
     */
    default boolean needsCredentials() {
        return needs() != Need.NOTHING;
    }

    /** Whether the mechanism asks the passdb (a token mechanism asks the token's issuer instead). */
    default boolean needsPassdb() {
        return needs() == Need.VERIFY || needs() == Need.LOOKUP;
    }

    /** What a mechanism asks of a passdb. */
    enum Need {
        /** Nothing: the mechanism trusts the client (OREORE). */
        NOTHING,
        /** A password sent by the client, checked by the passdb. */
        VERIFY,
        /** The stored password or key, which the mechanism computes with. */
        LOOKUP,
        /** No passdb: a bearer token, checked against its issuer ({@link Tokens}). */
        TOKEN
    }

    /** A new exchange for one authentication attempt. */
    Exchange newExchange(Credentials credentials);

    /** The security properties Dovecot's handshake can announce for a mechanism. */
    enum Flag {
        ANONYMOUS, PLAINTEXT, DICTIONARY, ACTIVE, FORWARD_SECRECY, MUTUAL_AUTH, PRIVATE;

        /** The word as written on a {@code MECH} line. */
        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }
}
