package org.saslauth.mech;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import org.saslauth.Deadline;
import org.saslauth.mech.Step.Failure;
import org.saslauth.mech.Step.Reason;

/**
 * LOGIN, the obsolete but ubiquitous mechanism of draft-murchison-sasl-login.
 *
 * <pre>
 * client ----- AUTH LOGIN [user] --------> server
 * client <---- CONT "Username:" ---------- server   (skipped when the AUTH line held the user)
 * client ----- user ---------------------> server
 * client <---- CONT "Password:" ---------- server
 * client ----- password -----------------> server
 * client <---- OK user=user | FAIL ------- server
 * </pre>
 *
 * A non-empty initial response is the user name (Outlook sends {@code AUTH LOGIN <user>}); an
 * empty one is treated like none.
 */
public final class LoginMechanism implements Mechanism {

    static final byte[] USERNAME_PROMPT = "Username:".getBytes(StandardCharsets.US_ASCII);
    static final byte[] PASSWORD_PROMPT = "Password:".getBytes(StandardCharsets.US_ASCII);

    @Override
    public String name() {
        return "LOGIN";
    }

    @Override
    public Set<Flag> flags() {
        return Set.of(Flag.PLAINTEXT);
    }

    @Override
    public Exchange newExchange(Credentials credentials) {
        return new LoginExchange(credentials);
    }

    private static final class LoginExchange implements Exchange {
        private enum Awaiting { USER_NAME, PASSWORD }

        private final Credentials credentials;
        private Awaiting awaiting = Awaiting.USER_NAME;
        private Optional<String> user = Optional.empty();

        LoginExchange(Credentials credentials) {
            this.credentials = credentials;
        }

        @Override
        public Step start(Optional<byte[]> initialResponse, Deadline deadline) {
            if (initialResponse.isPresent() && initialResponse.get().length > 0) {
                return next(initialResponse.get(), deadline);
            }
            return new Step.Challenge(USERNAME_PROMPT.clone());
        }

        @Override
        public Step next(byte[] response, Deadline deadline) {
            if (awaiting == Awaiting.USER_NAME) {
                awaiting = Awaiting.PASSWORD;
                user = credentials.canonical(response);
                // Ask for the password even for a name that cannot exist, so that a client
                // learns nothing before it has sent one.
                return new Step.Challenge(PASSWORD_PROMPT.clone());
            }
            try {
                if (user.isEmpty()) {
                    return Failure.of(Reason.INVALID_USER_NAME);
                }
                return credentials.check(user.get(), response, deadline);
            } finally {
                Arrays.fill(response, (byte) 0);
            }
        }
    }
}
