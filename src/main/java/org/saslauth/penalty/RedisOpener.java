package org.saslauth.penalty;

import java.time.Duration;
import java.util.Optional;
import org.saslauth.Clock;

/**
 * Opens the Redis store for a clock. A class of its own, reached only when the store is Redis,
 * so that a helper counting in memory loads no class of the Redis client.
 */
public record RedisOpener(RedisTarget target, Optional<String> password, PenaltyPolicy policy, Duration each)
        implements PenaltyStore.Opener {

    /** A serving process's store: each wait for Redis ({@code each}) ends after {@link RedisStore#WAIT}. */
    public RedisOpener(RedisTarget target, Optional<String> password, PenaltyPolicy policy) {
        this(target, password, policy, RedisStore.WAIT);
    }

    /** The same store for a command that an administrator runs, which may wait longer than a login. */
    public RedisOpener waiting(Duration longer) {
        return new RedisOpener(target, password, policy, longer);
    }

    @Override
    public PenaltyStore open(Clock clock) {
        org.saslauth.Log.ready(); // before Jedis's logger
        return new RedisStore(target, password, policy, clock, each);
    }

    @Override
    public String toString() {
        return "RedisOpener[" + target + "]"; // never the password
    }
}
