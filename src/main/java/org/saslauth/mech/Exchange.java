package org.saslauth.mech;

import java.util.Optional;

/**
 * One authentication attempt, driven by the engine until it returns a {@link Step.Success} or a
 * {@link Step.Failure}. Not shared between threads or attempts.
 */
public interface Exchange {

    /**
     * The first step.
     *
     * @param initialResponse present when the client sent an initial response ({@code resp=}),
     *     which may be empty; absent when it sent none
     */
    Step start(Optional<byte[]> initialResponse);

    /** The client's answer to the last {@link Step.Challenge}. */
    Step next(byte[] response);
}
