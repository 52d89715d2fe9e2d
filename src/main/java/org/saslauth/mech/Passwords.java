package org.saslauth.mech;

import java.util.Optional;
import java.util.OptionalInt;
import org.saslauth.mech.Step.Failure;
import org.saslauth.mech.Step.Reason;

/** The last step shared by the password mechanisms: ask the store, turn its verdict into a step. */
final class Passwords {

    private Passwords() {}

    static Step check(Credentials credentials, String user, byte[] password) {
        var checked = credentials.check(user, password);
        return switch (checked.verdict()) {
            case ACCEPTED -> new Step.Success(checked.user());
            case WRONG_PASSWORD -> guessed(Reason.WRONG_PASSWORD, credentials, user, password);
            case UNKNOWN_USER -> guessed(Reason.UNKNOWN_USER, credentials, user, password);
            case UNAVAILABLE -> Failure.of(Reason.UNAVAILABLE, user);
        };
    }

    private static Failure guessed(Reason reason, Credentials credentials, String user, byte[] password) {
        return new Failure(reason, Optional.of(user), OptionalInt.of(credentials.guess(user, password)));
    }
}
