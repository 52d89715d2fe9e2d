package org.saslauth.mech;

import org.saslauth.mech.Step.Failure;
import org.saslauth.mech.Step.Reason;

/** The last step shared by the password mechanisms: ask the store, turn its verdict into a step. */
final class Passwords {

    private Passwords() {}

    static Step check(Credentials credentials, String user, byte[] password) {
        return switch (credentials.verify(user, password)) {
            case ACCEPTED -> new Step.Success(user);
            case WRONG_PASSWORD -> Failure.of(Reason.WRONG_PASSWORD, user);
            case UNKNOWN_USER -> Failure.of(Reason.UNKNOWN_USER, user);
            case UNAVAILABLE -> Failure.of(Reason.UNAVAILABLE, user);
        };
    }
}
