package org.saslauth.mech;

import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import org.saslauth.Deadline;
import org.saslauth.mech.Step.Failure;
import org.saslauth.mech.Step.Reason;

/**
 * PLAIN, RFC 4616.
 *
 * <pre>
 * client ----- AUTH PLAIN [authzid NUL authcid NUL passwd] -----> server
 * client <---- CONT (empty challenge, when no initial response) -- server
 * client ----- authzid NUL authcid NUL passwd ------------------> server
 * client <---- OK user=authcid | FAIL ----------------------------- server
 * </pre>
 *
 * The message holds exactly two NULs. An authzid that is empty or equal to the authcid is an
 * ordinary login; any other authzid asks to act as another user and is refused. An empty initial
 * response ({@code AUTH PLAIN =}) is a message without NULs and fails, as in Dovecot.
 */
public final class PlainMechanism implements Mechanism {

    @Override
    public String name() {
        return "PLAIN";
    }

    @Override
    public Set<Flag> flags() {
        return Set.of(Flag.PLAINTEXT);
    }

    @Override
    public Exchange newExchange(Credentials credentials) {
        return new Exchange() {
            @Override
            public Step start(Optional<byte[]> initialResponse, Deadline deadline) {
                return initialResponse.map(r -> next(r, deadline)).orElseGet(() -> new Step.Challenge(new byte[0]));
            }

            @Override
            public Step next(byte[] message, Deadline deadline) {
                return verify(credentials, message, deadline);
            }
        };
    }

    private static Step verify(Credentials credentials, byte[] message, Deadline deadline) {
        int first = indexOf(message, 0);
        int second = first < 0 ? -1 : indexOf(message, first + 1);
        if (second < 0 || indexOf(message, second + 1) >= 0) {
            Arrays.fill(message, (byte) 0);
            return Failure.of(Reason.MALFORMED);
        }
        byte[] authzid = Arrays.copyOfRange(message, 0, first);
        byte[] authcid = Arrays.copyOfRange(message, first + 1, second);
        byte[] password = Arrays.copyOfRange(message, second + 1, message.length);
        try {
            Optional<String> user = credentials.canonical(authcid);
            if (user.isEmpty()) {
                return Failure.of(Reason.INVALID_USER_NAME);
            }
            if (authzid.length > 0 && !Arrays.equals(authzid, authcid)) {
                return Failure.of(Reason.AUTHZID_REFUSED, user.get());
            }
            return credentials.check(user.get(), password, deadline);
        } finally {
            Arrays.fill(password, (byte) 0);
            Arrays.fill(message, (byte) 0);
        }
    }

    private static int indexOf(byte[] bytes, int from) {
        for (int i = from; i < bytes.length; i++) {
            if (bytes[i] == 0) {
                return i;
            }
        }
        return -1;
    }
}
