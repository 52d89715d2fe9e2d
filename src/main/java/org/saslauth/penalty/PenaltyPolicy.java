package org.saslauth.penalty;

import java.time.Duration;

/**
 * The thresholds of the bans and of the per-user protection, one option each ({@code
 * --penalty-*}). Set for stuffing and guessing, not for offices: a stale phone retrying one
 * password counts once, so an office of dozens behind one address, a few phones stale, stays
 * far below {@link #banUsers} and {@link #banGuesses}.
 *
 * @param window how long the failures of one address are counted together
 * @param banUsers distinct users failed on from one address within the window that ban it
 * @param banGuesses distinct wrong passwords (user and password together) from one address
 *     within the window that ban it
 * @param banTime the first ban; each ban within {@link #banMax} of the last one doubles it
 * @param banMax the longest ban, and how long a ban is remembered for the next one to grow
 * @param prefixBans banned addresses in one IPv4 /24 beyond which every failure from the /24
 *     waits the longest delay
 * @param userWindow how long the addresses a user failed from are counted together
 * @param protectAddresses distinct addresses failing for one user within the user window that
 *     protect it: logins from addresses not known for it are refused unchecked
 * @param protectPasswords distinct wrong passwords tried on one user within the user window,
 *     from any addresses, that protect it too: a botnet keeping each address under the ban
 *     thresholds and using fewer than {@link #protectAddresses} of them
 * @param protectTime how long the protection lasts after its last failure over the threshold
 * @param knownFor how long a successful login makes its /24 (or IPv6 prefix) known for the user
 * @param exempt networks never banned nor refused by the protection (webmail, monitoring)
 */
public record PenaltyPolicy(Duration window, int banUsers, int banGuesses, Duration banTime, Duration banMax,
        int prefixBans, Duration userWindow, int protectAddresses, int protectPasswords, Duration protectTime,
        Duration knownFor, Exempt exempt) {

    public static final PenaltyPolicy DEFAULTS = new PenaltyPolicy(Duration.ofMinutes(15), 10, 20,
            Duration.ofMinutes(15), Duration.ofHours(24), 4, Duration.ofHours(1), 20, 30, Duration.ofHours(1),
            Duration.ofDays(30), Exempt.NONE);

    public PenaltyPolicy {
        if (banUsers < 2 || banGuesses < 2 || protectAddresses < 2 || protectPasswords < 2 || prefixBans < 1) {
            throw new IllegalArgumentException("thresholds must be at least 2 (prefix bans at least 1)");
        }
        for (Duration d : new Duration[] {window, banTime, banMax, userWindow, protectTime, knownFor}) {
            if (d.toMillis() < 1) {
                throw new IllegalArgumentException("durations must be at least 1 ms");
            }
        }
    }

    /** {@link #banTime} doubled for each earlier ban, up to {@link #banMax}. */
    Duration ban(int nth) {
        long ms = banTime.toMillis();
        for (int i = 1; i < nth && ms < banMax.toMillis(); i++) {
            ms *= 2;
        }
        return Duration.ofMillis(Math.min(ms, banMax.toMillis()));
    }
}
