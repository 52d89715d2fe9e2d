package org.saslauth.cli;

import java.time.Duration;
import java.util.Locale;

/**
 * {@code 2s}, {@code 500ms}, {@code 1.5s}, {@code 0}; a bare number is seconds, as in Dovecot.
 * Never negative, at most an hour; the options that take one set their own, lower, limits.
 * Read by hand rather than by a regular expression: {@code java.util.regex} would be the
 * biggest piece of the JDK a helper loads before its handshake.
 */
final class Durations {

    private Durations() {}

    static Duration parse(String value) {
        String v = value.strip().toLowerCase(Locale.ROOT);
        int i = digits(v, 0, 7);
        if (i <= 0) {
            throw bad(value);
        }
        long whole = Long.parseLong(v.substring(0, i));
        String frac = null;
        if (i < v.length() && v.charAt(i) == '.') {
            int end = digits(v, i + 1, 9);
            if (end < 0 || end == i + 1) {
                throw bad(value);
            }
            frac = v.substring(i + 1, end);
            i = end;
        }
        while (i < v.length() && isSpace(v.charAt(i))) {
            i++;
        }
        String unit = v.substring(i);
        if (!(unit.isEmpty() || unit.equals("s") || unit.equals("ms")) || (frac != null && unit.equals("ms"))) {
            throw bad(value);
        }
        Duration d = unit.equals("ms") ? Duration.ofMillis(whole) : Duration.ofSeconds(whole);
        if (frac != null) {
            d = d.plusNanos(Long.parseLong((frac + "000000000").substring(0, 9)));
        }
        if (d.compareTo(Duration.ofHours(1)) > 0) {
            throw new ServingOption.BadValue("'" + value + "' is longer than an hour");
        }
        return d;
    }

    /** The end of the run of ASCII digits from {@code from}, or -1 when it is longer than {@code max}. */
    private static int digits(String v, int from, int max) {
        int i = from;
        while (i < v.length() && v.charAt(i) >= '0' && v.charAt(i) <= '9') {
            i++;
        }
        return i - from > max ? -1 : i;
    }

    /** What {@code \s} matches. */
    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r';
    }

    private static ServingOption.BadValue bad(String value) {
        return new ServingOption.BadValue("'" + value + "' is not a duration such as 2s, 500ms, 1.5s or 0");
    }
}
