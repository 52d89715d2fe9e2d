package org.saslauth.mech;

import java.util.Optional;
import org.saslauth.Deadline;

/**
 * One authentication attempt, driven by the engine until it returns a {@link Step.Success} or a
 * {@link Step.Failure}. Not shared between threads or attempts. Each step is given the instant
 * its answer is due; a step that cannot check the password by then (a database slow, every slot
 * for slow hashes taken) returns a temporary failure rather than a late answer.
 */
public interface Exchange {

    /**
     * The first step.
     *
     * @param initialResponse present when the client sent an initial response ({@code resp=}),
     *     which may be empty; absent when it sent none
     * @param deadline when the answer to this step is due
     */
    Step start(Optional<byte[]> initialResponse, Deadline deadline);

    /** The client's answer to the last {@link Step.Challenge}, due by {@code deadline}. */
    Step next(byte[] response, Deadline deadline);
}
