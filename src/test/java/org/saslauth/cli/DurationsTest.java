package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
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
}
