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

    private Durations() {}

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
