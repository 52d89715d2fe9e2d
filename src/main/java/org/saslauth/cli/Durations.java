package org.saslauth.cli;

import java.time.Duration;
import java.util.Locale;

/**
 * {@code 2s}, {@code 500ms}, {@code 1.5s}, {@code 0}; a bare number is seconds, as in Dovecot.
 * Never negative, at most an hour; the options that take one set their own, lower, limits.
 *
 * <p>Read by hand, not by {@code java.util.regex}: every helper reads its durations before its
 * handshake, and compiling a pattern there spun method handles for the regex's lambdas, some
 * 3 ms of a helper's start on Java 17.
 */
final class Durations {

    /** The longest {@link #period}. */
    static final Duration MAX_PERIOD = Duration.ofDays(400);

    private Durations() {}

    /**
     * A time kept by the penalty store: {@code 500ms}, {@code 90s}, {@code 15m}, {@code 24h},
     * {@code 30d}; a bare number is seconds. At least a millisecond, at most 400 days.
     */
    static Duration period(String value) {
        String v = value.strip().toLowerCase(Locale.ROOT);
        int end = digits(v, 0, 9);
        String unit = end < 0 ? null : unit(v, spaces(v, end), "ms", "s", "m", "h", "d");
        if (unit == null) {
            throw new ServingOption.BadValue("'" + value + "' is not a time such as 90s, 15m, 24h or 30d");
        }
        long n = Long.parseLong(v.substring(0, end));
        unit = unit.isEmpty() ? "s" : unit;
        Duration d;
        switch (unit) {
            case "ms": d = Duration.ofMillis(n); break;
            case "m": d = Duration.ofMinutes(n); break;
            case "h": d = Duration.ofHours(n); break;
            case "d": d = Duration.ofDays(n); break;
            default: d = Duration.ofSeconds(n);
        }
        if (d.isZero()) {
            throw new ServingOption.BadValue("'" + value + "': must be more than 0");
        }
        if (d.compareTo(MAX_PERIOD) > 0) {
            throw new ServingOption.BadValue("'" + value + "' is longer than 400 days");
        }
        return d;
    }

    static Duration parse(String value) {
        String v = value.strip().toLowerCase(Locale.ROOT);
        int whole = digits(v, 0, 7);
        int fraction = whole >= 0 && whole < v.length() && v.charAt(whole) == '.' ? digits(v, whole + 1, 9) : whole;
        String unit = fraction < 0 ? null : unit(v, spaces(v, fraction), "ms", "s");
        if (unit == null || (fraction > whole && unit.equals("ms"))) {
            throw new ServingOption.BadValue("'" + value + "' is not a duration such as 2s, 500ms, 1.5s or 0");
        }
        long n = Long.parseLong(v.substring(0, whole));
        Duration d = unit.equals("ms") ? Duration.ofMillis(n) : Duration.ofSeconds(n);
        if (fraction > whole) {
            d = d.plusNanos(Long.parseLong((v.substring(whole + 1, fraction) + "000000000").substring(0, 9)));
        }
        if (d.compareTo(Duration.ofHours(1)) > 0) {
            throw new ServingOption.BadValue("'" + value + "' is longer than an hour");
        }
        return d;
    }

    /** The end of the 1 to {@code most} ASCII digits at {@code from}, or -1 when there are none or more. */
    private static int digits(String s, int from, int most) {
        int i = from;
        while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
            i++;
        }
        return i > from && i - from <= most ? i : -1;
    }

    /** Past the white space at {@code from} (a regex's {@code \s}: space, tab, line breaks, form feed). */
    private static int spaces(String s, int from) {
        int i = from;
        while (i < s.length() && " \t\n\u000B\f\r".indexOf(s.charAt(i)) >= 0) {
            i++;
        }
        return i;
    }

    /** What is left of {@code s} at {@code from} when it is one of {@code units} or nothing, else null. */
    private static String unit(String s, int from, String... units) {
        String rest = s.substring(from);
        if (rest.isEmpty()) {
            return rest;
        }
        for (String u : units) {
            if (rest.equals(u)) {
                return u;
            }
        }
        return null;
    }
}
