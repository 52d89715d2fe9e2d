package org.saslauth;

import java.time.Duration;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** {@code 2s}, {@code 500ms}, {@code 1.5s}, {@code 0}; a bare number is seconds, as in Dovecot. */
final class Durations implements ITypeConverter<Duration> {

    @Override
    public Duration convert(String value) {
        return parse(value);
    }

    static Duration parse(String value) {
        String v = value.strip().toLowerCase(Locale.ROOT);
        try {
            if (v.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2).strip()));
            }
            if (v.endsWith("s")) {
                v = v.substring(0, v.length() - 1).strip();
            }
            double seconds = Double.parseDouble(v);
            if (seconds < 0 || Double.isNaN(seconds) || seconds > 3600) {
                throw new TypeConversionException("'" + value + "' is not a duration between 0 and 1h");
            }
            return Duration.ofNanos(Math.round(seconds * 1e9));
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not a duration such as 2s, 500ms or 0");
        }
    }
}
