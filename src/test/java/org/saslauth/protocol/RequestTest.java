package org.saslauth.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The one rule for request ids, as Dovecot reads them, on both sockets. */
class RequestTest {

    @ParameterizedTest(name = "\"{0}\": {1}")
    @CsvSource(delimiter = '|', value = {
        "0             | true",
        "1             | true",
        "007           | true",
        "4294967295    | true",
        "4294967296    | false",
        "9999999999    | false",
        "00000000001   | false",
        "''            | false",
        "-1            | false",
        "+1            | false",
        "' 1'          | false",
        "1a            | false",
        "１            | false",
    })
    void validId(String id, boolean valid) {
        assertEquals(valid, Request.validId(id));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "USER\t1\tal\u0001tice\tservice=smtp | User[id=1, name=al\tice]",
        "USER\tx\talice                    | Malformed[id=Optional.empty, what=USER with an invalid id, idLength=1]",
        "USER\t5                           | Malformed[id=Optional[5], what=USER without a name, idLength=1]",
        "VERSION\t1\t1                     | Version[major=1]",
        "CPID\t42                          | Cpid[pid=42]",
        "PASS\t3\talice                    | Unserved[command=PASS, id=3]",
        "PASS\tthree                       | Unknown[command=PASS, length=10]",
        "AUTH\t1\tPLAIN                    | Unserved[command=AUTH, id=1]",
    })
    void parseMaster(String line, String parsed) {
        assertEquals(parsed, Request.parseMaster(line).toString());
    }
}
