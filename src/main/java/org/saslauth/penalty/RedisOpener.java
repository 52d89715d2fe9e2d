package org.saslauth.penalty;

import java.util.Optional;
import org.saslauth.Clock;

/**
 * Opens the Redis store for a clock. A class of its own, reached only when the store is Redis,
 * so that a helper counting in memory loads no class of the Redis client.
 */
public record RedisOpener(RedisTarget target, Optional<String> password, PenaltyPolicy policy)
        implements PenaltyStore.Opener {

    @Override
    public PenaltyStore open(Clock clock) {
        return new RedisStore(target, password, policy, clock);
    }

    @Override
    public String toString() {
        return "RedisOpener[" + target + "]"; // never the password
    }
}
