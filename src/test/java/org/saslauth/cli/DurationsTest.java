package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {

    @ParameterizedTest
    @CsvSource({"0, 0", "2s, 2000", "2, 2000", "500ms, 500", "1.5s, 1500", "0.25, 250", " 3 s , 3000", "0ms, 0", "3600s, 3600000", "1234567ms, 1234567", "0.125s, 125", "5\tMS, 5"})
    void parses(String text, long millis) {
        assertEquals(Duration.ofMillis(millis), Durations.parse(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"-1", "-5ms", "2d", "2f", "0x1p3", "soon", "", "1.5ms", "1e3", "NaN", "3601s", "2m", "1h", "12345678", "1.1234567890", "1.", ".5", "1..5", "5 ms s", "5sms"})
    void refuses(String text) {
        assertThrows(ServingOption.BadValue.class, () -> Durations.parse(text));
    }

    @ParameterizedTest
    @CsvSource({"500ms, 500", "90s, 90000", "90, 90000", "15m, 900000", "24h, 86400000", "30d, 2592000000",
        " 2 H , 7200000", "400d, 34560000000", "1ms, 1", "999999999ms, 999999999"})
    void periods(String text, long millis) {
        assertEquals(Duration.ofMillis(millis), Durations.period(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "0s", "401d", "1.5h", "-1m", "1w", "m", "", "1234567890", "5 m s", "5mm", "1e3"})
    void refusesPeriods(String text) {
        assertThrows(ServingOption.BadValue.class, () -> Durations.period(text));
    }

    /**
     * What the patterns of the regex this reader replaced took, and only that, is read: refused
     * then only by its limits (zero, over an hour, over 400 days).
     */
    @Test
    void takesWhatTheRegexTook() {
        Pattern duration = Pattern.compile("([0-9]{1,7})(\\.[0-9]{1,9})?\\s*(ms|s)?");
        Pattern period = Pattern.compile("([0-9]{1,9})\\s*(ms|s|m|h|d)?");
        List<String> parts = List.of("", "0", "7", "1234567", "12345678", ".", ".5", ".123456789", ".1234567890",
                " ", "\t", "\u000b", "\u00a0", "ms", "s", "m", "h", "d", "x", "MS", "-");
        int read = 0;
        for (String a : parts) {
            for (String b : parts) {
                for (String c : parts) {
                    String text = a + b + c;
                    String v = text.strip().toLowerCase(Locale.ROOT);
                    java.util.regex.Matcher m = duration.matcher(v);
                    boolean took = m.matches() && !(m.group(2) != null && "ms".equals(m.group(3)));
                    String got = outcome(() -> Durations.parse(text));
                    assertEquals(took, !got.equals("syntax"), "duration '" + text + "': " + got);
                    if (got.equals("ok")) { // the value the regex's groups gave
                        Duration expected = "ms".equals(m.group(3)) ? Duration.ofMillis(Long.parseLong(m.group(1)))
                                : Duration.ofSeconds(Long.parseLong(m.group(1)));
                        if (m.group(2) != null) {
                            expected = expected.plusNanos(Long.parseLong((m.group(2).substring(1) + "000000000").substring(0, 9)));
                        }
                        assertEquals(expected, Durations.parse(text), "duration '" + text + "'");
                    }
                    String gotPeriod = outcome(() -> Durations.period(text));
                    assertEquals(period.matcher(v).matches(), !gotPeriod.equals("syntax"), "period '" + text + "': " + gotPeriod);
                    read += got.equals("ok") ? 1 : 0;
                }
            }
        }
        assertEquals(true, read > 100, read + " durations read");
    }

    /** {@code ok}, {@code limit} (refused for its value) or {@code syntax}. */
    private static String outcome(org.junit.jupiter.api.function.Executable e) {
        try {
            e.execute();
            return "ok";
        } catch (ServingOption.BadValue refused) {
            String why = refused.getMessage();
            return why.contains("longer than") || why.contains("more than 0") ? "limit" : "syntax";
        } catch (Throwable other) {
            throw new AssertionError(other);
        }
    }
}
