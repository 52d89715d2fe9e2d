package org.saslauth.penalty;

import static org.saslauth.Log.LOG;
import static org.saslauth.Log.quote;

import java.time.Duration;

/**
 * The lines fail2ban and administrators read when a threshold is crossed:
 * {@code penalty: banned rip=192.0.2.7 for 900 s: failed on 10 users, 10 passwords (ban 1)}
 * and {@code penalty: protecting user="alice" for 3600 s: failed from 20 addresses, 20 passwords; ...}. A user
 * name is quoted ({@link org.saslauth.Log#quote}); no password, nor any fingerprint, is logged.
 */
final class PenaltyLog {

    private PenaltyLog() {}

    static void banned(String rip, String address, Duration time, long users, long guesses, long nth) {
        LOG.warn("penalty: banned rip={} for {} s: failed on {} users, {} passwords (ban {}, counted as {})",
                bare(rip), time.toSeconds(), users, guesses, nth, bare(address));
    }

    static void protecting(String user, Duration time, long addresses, long guesses) {
        LOG.warn("penalty: protecting user={} for {} s: failed from {} addresses, {} passwords; only its known"
                + " networks may log in", quote(user), time.toSeconds(), addresses, guesses);
    }

    static void unprotected(String user) {
        LOG.info("penalty: user={} no longer protected", quote(user));
    }

    /** An address as fail2ban's HOST matches it, quoted when it is not plainly one. */
    static String bare(String rip) {
        if (rip.isEmpty()) {
            return "-";
        }
        if (rip.length() > 45) {
            return quote(rip, 64);
        }
        for (int i = 0; i < rip.length(); i++) {
            char c = rip.charAt(i);
            char l = (char) (c | 0x20);
            if (!(c >= '0' && c <= '9' || l >= 'a' && l <= 'f' || c == '.' || c == ':' || c == '/')) {
                return quote(rip, 64);
            }
        }
        return rip;
    }
}
