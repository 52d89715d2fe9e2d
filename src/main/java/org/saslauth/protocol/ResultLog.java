package org.saslauth.protocol;

import static org.saslauth.Log.LOG;
import static org.saslauth.Log.quote;

import java.util.Optional;

/**
 * The one log line per finished attempt, which fail2ban reads:
 * {@code auth failed: rip=192.0.2.1 mech=PLAIN user="alice" id=7 reason="wrong password"}.
 * Client-supplied values are quoted ({@link org.saslauth.Log#quote}) unless they are plainly
 * one word or one address.
 */
final class ResultLog {

    private ResultLog() {}

    static void ok(String id, String mech, String rip, String user) {
        LOG.info("auth ok: rip={} mech={} user={} id={}", address(rip), token(mech), quote(user), id);
    }

    static void failed(String id, String mech, String rip, Optional<String> user, String reason) {
        LOG.info("auth failed: rip={} mech={} user={} id={} reason={}", address(rip), token(mech),
                quote(user.orElse("")), id, quote(reason));
    }

    /**
     * A mechanism name is written when it could be one (SASL's 1 to 20 letters, digits, hyphens
     * and underscores), {@code -} otherwise: a client may put anything there, a payload too.
     */
    static String token(String word) {
        return bare(word, 20, true, "-_") ? word : "-";
    }

    /** An address is written bare when it looks like one, so that fail2ban's HOST matches it. */
    static String address(String rip) {
        if (rip.isEmpty()) {
            return "-";
        }
        return bare(rip, 45, false, ".:") ? rip : quote(rip, 64);
    }

    /**
     * Whether {@code s} is non-empty, at most {@code max} long, and only of ASCII digits, hex
     * letters (all letters when {@code letters}) and {@code extra}.
     */
    static boolean bare(String s, int max, boolean letters, String extra) {
        if (s.isEmpty() || s.length() > max) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            char l = (char) (c | 0x20);
            boolean letter = letters ? l >= 'a' && l <= 'z' : l >= 'a' && l <= 'f';
            if (!(c >= '0' && c <= '9' || letter || extra.indexOf(c) >= 0)) {
                return false;
            }
        }
        return true;
    }
}
