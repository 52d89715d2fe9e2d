package org.saslauth.cli;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code 2s}, {@code 500ms}, {@code 1.5s}, {@code 0}; a bare number is seconds, as in Dovecot.
 * Never negative, at most an hour; the options that take one set their own, lower, limits.
 */
final class Durations {

    private static final Pattern DURATION = Pattern.compile("([0-9]{1,7})(\\.[0-9]{1,9})?\\s*(ms|s)?");

    private static final Pattern PERIOD = Pattern.compile("([0-9]{1,9})\\s*(ms|s|m|h|d)?");

    /** The longest {@link #period}. */
    static final Duration MAX_PERIOD = Duration.ofDays(400);

    private Durations() {}

    /**
     * A time kept by the penalty store: {@code 500ms}, {@code 90s}, {@code 15m}, {@code 24h},
     * {@code 30d}; a bare number is seconds. At least a millisecond, at most 400 days.
     */
    static Duration period(String value) {
        Matcher m = PERIOD.matcher(value.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new ServingOption.BadValue("'" + value + "' is not a time such as 90s, 15m, 24h or 30d");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
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
        Matcher m = DURATION.matcher(value.strip().toLowerCase(Locale.ROOT));
        if (!m.matches() || (m.group(2) != null && "ms".equals(m.group(3)))) {
            throw new ServingOption.BadValue("'" + value + "' is not a duration such as 2s, 500ms, 1.5s or 0");
        }
        long whole = Long.parseLong(m.group(1));
        Duration d = "ms".equals(m.group(3)) ? Duration.ofMillis(whole) : Duration.ofSeconds(whole);
        if (m.group(2) != null) {
            d = d.plusNanos(Long.parseLong((m.group(2).substring(1) + "000000000").substring(0, 9)));
        }
        if (d.compareTo(Duration.ofHours(1)) > 0) {
            throw new ServingOption.BadValue("'" + value + "' is longer than an hour");
        }
        return d;
    }
}
