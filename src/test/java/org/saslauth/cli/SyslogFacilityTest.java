package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code --syslog-facility}'s values and the severity of each of slf4j-simple's level words. */
class SyslogFacilityTest {

    @ParameterizedTest
    @CsvSource({"mail, 2", "daemon, 3", "auth, 4", "authpriv, 10", "user, 1", "local0, 16", "local7, 23",
        "none, -1", "MAIL, -1", "mial, -1", "local8, -1"})
    void facilityCodesAreGlibcs(String name, int code) {
        assertEquals(code, Syslog.code(name));
    }

    @ParameterizedTest
    @CsvSource({"mail", "local3", "none"})
    void theOptionTakesFacilitiesAndNone(String value) {
        assertEquals(value, ServingOption.SYSLOG_FACILITY.type.convert(value));
    }

    @ParameterizedTest
    @CsvSource({"mial", "Mail", "local8", "''"})
    void anythingElseIsABadValueThatListsThem(String value) {
        ServingOption.BadValue e = assertThrows(ServingOption.BadValue.class,
                () -> ServingOption.SYSLOG_FACILITY.type.convert(value));
        assertTrue(e.getMessage().contains("mail, daemon, auth, authpriv, user, local0") && e.getMessage().endsWith(" or none"),
                e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"'ERROR saslauth[1] - x', 3", "'WARN saslauth[1] - x', 4", "'INFO saslauth[1] - x', 6",
        "'DEBUG saslauth[1] - x', 7", "'TRACE saslauth[1] - x', 7", "'\tat org.saslauth.X.y(X.java:1)', -1",
        "'INFORMATION', -1"})
    void severitiesFollowTheLevelWord(String line, int severity) {
        assertEquals(severity, Syslog.level(line.getBytes(StandardCharsets.UTF_8)));
    }
}
