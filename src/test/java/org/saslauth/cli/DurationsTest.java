package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine.TypeConversionException;

class DurationsTest {

    @ParameterizedTest
    @CsvSource({"0, 0", "2s, 2000", "2, 2000", "500ms, 500", "1.5s, 1500", "0.25, 250", " 3 s , 3000", "0ms, 0", "3600s, 3600000"})
    void parses(String text, long millis) {
        assertEquals(Duration.ofMillis(millis), Durations.parse(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"-1", "-5ms", "2d", "2f", "0x1p3", "soon", "", "1.5ms", "1e3", "NaN", "3601s", "2m", "1h"})
    void refuses(String text) {
        assertThrows(TypeConversionException.class, () -> Durations.parse(text));
    }
}
