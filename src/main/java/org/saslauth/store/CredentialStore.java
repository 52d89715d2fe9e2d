package org.saslauth.store;

/**
 * Where users and their passwords live. Implementations must be safe to call from several
 * threads and must answer within a fraction of Postfix's 10-second reply limit.
 */
public interface CredentialStore {

    /**
     * Checks a password. The password bytes belong to the caller, which wipes them; an
     * implementation must not keep them.
     */
    Verdict verify(String user, byte[] password);

    /** The answers a store can give; a mechanism turns them into a result. */
    enum Verdict {
        ACCEPTED, WRONG_PASSWORD, UNKNOWN_USER, UNAVAILABLE
    }

    /** A store that knows nobody, for servers that offer only mechanisms without passwords. */
    CredentialStore NONE = (user, password) -> Verdict.UNKNOWN_USER;
}
