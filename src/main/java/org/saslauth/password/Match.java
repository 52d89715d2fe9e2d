package org.saslauth.password;

/** What checking a password against a stored one found. */
public enum Match {
    MATCHED,
    NOT_MATCHED,
    /**
     * No slot for a slow hash came free before the request's deadline: a temporary failure,
     * never a wrong password.
     */
    TOO_BUSY;

    /** {@link #MATCHED} or {@link #NOT_MATCHED}. */
    public static Match of(boolean matched) {
        return matched ? MATCHED : NOT_MATCHED;
    }
}
