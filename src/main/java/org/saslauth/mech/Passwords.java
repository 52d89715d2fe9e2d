package org.saslauth.mech;

import java.util.Optional;
import java.util.OptionalInt;
import org.saslauth.mech.Step.Failure;
import org.saslauth.mech.Step.Reason;

/** The last step shared by the password mechanisms: ask the store, turn its verdict into a step. */
final class Passwords {

    private Passwords() {}

    static Step check(Credentials credentials, String user, byte[] password) {
        Optional<Reason> refused = credentials.refusal(password);
        if (refused.isPresent()) {
            return guessed(refused.get(), credentials, user, password);
        }
        return switch (credentials.verify(user, password)) {
            case ACCEPTED -> new Step.Success(user);
            case WRONG_PASSWORD -> guessed(Reason.WRONG_PASSWORD, credentials, user, password);
            case UNKNOWN_USER -> guessed(Reason.UNKNOWN_USER, credentials, user, password);
            case UNAVAILABLE -> Failure.of(Reason.UNAVAILABLE, user);
        };
    }

    private static Failure guessed(Reason reason, Credentials credentials, String user, byte[] password) {
        return new Failure(reason, Optional.of(user), OptionalInt.of(credentials.guess(user, password)));
    }
}
