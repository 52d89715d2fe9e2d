package org.saslauth;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one logger, named like a syslog tag ({@code saslauth[pid]}) because every smtpd process
 * starts its own helper and they usually share one log file.
 */
public final class Log {

    public static final Logger LOG =
            LoggerFactory.getLogger("saslauth[" + Pid.CURRENT + "]");

    private Log() {}

    /**
     * Waits until the logger is made. A helper makes it on a thread of its own as it starts
     * (cli's Logging), while it reads its passwd file; a library's slf4j logger made meanwhile
     * would be a stand-in whose lines slf4j replays later with a warning of its own. A store
     * that brings such a library (HikariCP, Jedis) calls this before it.
     */
    public static void ready() {
        LOG.isDebugEnabled();
    }

    /**
     * A client-supplied value as it may appear in a log line: in double quotes, with quotes,
     * backslashes and every non-printable character escaped, so that no user name can forge a
     * field or a line that a fail2ban filter would match, and cut to {@code max} characters.
     */
    public static String quote(String value, int max) {
        StringBuilder out = new StringBuilder(Math.min(value.length(), max) + 2).append('"');
        for (int i = 0; i < value.length(); i++) {
            if (i == max) {
                out.append("...");
                break;
            }
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (Text.isControl(c)) {
                out.append(String.format("\\x%02x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }

    public static String quote(String value) {
        return quote(value, 256);
    }
}
