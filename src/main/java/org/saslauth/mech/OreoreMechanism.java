package org.saslauth.mech;

import java.util.Optional;
import java.util.Set;
import org.saslauth.Deadline;
import org.saslauth.mech.Step.Failure;
import org.saslauth.mech.Step.Reason;

/**
 * OREORE ("it's me, it's me"), the mechanism saslauth grew from: the initial response is a user
 * name and is believed without a password. For closed setups only, served only when the operator
 * lists it.
 *
 * <pre>
 * client ----- AUTH OREORE user ---------> server
 * client <---- OK user=user | FAIL ------- server
 * </pre>
 *
 * No initial response is a failure, never a challenge.
 */
public final class OreoreMechanism implements Mechanism {

    @Override
    public String name() {
        return "OREORE";
    }

    @Override
    public Set<Flag> flags() {
        return Set.of(Flag.PLAINTEXT);
    }

    @Override
    public Need needs() {
        return Need.NOTHING;
    }

    @Override
    public Exchange newExchange(Credentials credentials) {
        return new Exchange() {
            @Override
            public Step start(Optional<byte[]> initialResponse, Deadline deadline) {
                if (initialResponse.isEmpty()) {
                    return Failure.of(Reason.MISSING_RESPONSE);
                }
                return credentials.canonical(initialResponse.get())
                        .<Step>map(Step.Success::new)
                        .orElseGet(() -> Failure.of(Reason.INVALID_USER_NAME));
            }

            @Override
            public Step next(byte[] response, Deadline deadline) {
                return Failure.of(Reason.MALFORMED);
            }
        };
    }
}
