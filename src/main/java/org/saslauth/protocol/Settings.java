package org.saslauth.protocol;

import java.time.Duration;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Mechanisms;
import org.saslauth.penalty.PenaltyStore;

/**
 * What the engine needs to know; see the command-line options of the same names.
 *
 * @param maxAuthRate AUTH requests a second allowed on one connection and from one client
 *     address; 0 for no limit
 * @param ipv6Prefix the bits of an IPv6 address that make one client for the penalty and the
 *     rate limit ({@link ClientAddress})
 * @param penaltyStore where bans, protections and known networks are counted
 */
public record Settings(Mechanisms mechanisms, Credentials credentials, Duration failureDelay,
        int maxPending, boolean penalty, int maxAuthRate, int ipv6Prefix, PenaltyStore.Opener penaltyStore) {

    /** The default of {@code --ipv6-prefix}. */
    public static final int IPV6_PREFIX = 64;

    /** Settings with no per-address penalty and no rate limit. */
    public Settings(Mechanisms mechanisms, Credentials credentials, Duration failureDelay, int maxPending) {
        this(mechanisms, credentials, failureDelay, maxPending, false, 0);
    }

    public Settings(Mechanisms mechanisms, Credentials credentials, Duration failureDelay,
            int maxPending, boolean penalty, int maxAuthRate) {
        this(mechanisms, credentials, failureDelay, maxPending, penalty, maxAuthRate, IPV6_PREFIX);
    }

    /** With the memory penalty store and its default thresholds. */
    public Settings(Mechanisms mechanisms, Credentials credentials, Duration failureDelay,
            int maxPending, boolean penalty, int maxAuthRate, int ipv6Prefix) {
        this(mechanisms, credentials, failureDelay, maxPending, penalty, maxAuthRate, ipv6Prefix,
                PenaltyStore.Opener.MEMORY);
    }

    public Settings {
        if (maxPending < 1) {
            throw new IllegalArgumentException("maxPending must be at least 1");
        }
        if (failureDelay.isNegative()) {
            throw new IllegalArgumentException("failure delay must not be negative");
        }
        if (ipv6Prefix < 1 || ipv6Prefix > 128) {
            throw new IllegalArgumentException("ipv6Prefix must be between 1 and 128");
        }
        if (maxAuthRate < 0) {
            throw new IllegalArgumentException("maxAuthRate must not be negative");
        }
    }
}
