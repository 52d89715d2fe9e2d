package org.saslauth.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EscapingTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "plain           | plain",
        "a<TAB>b         | a<SOH>tb",
        "a<LF>b<CR>      | a<SOH>nb<SOH>r",
        "<SOH>           | <SOH>1",
        "<NUL>           | <SOH>0",
        "back\\slash     | back\\slash",
    })
    void escapesAsDovecotDoes(String raw, String escaped) {
        String r = decode(raw);
        String e = decode(escaped);
        assertEquals(e, Escaping.escape(r));
        assertEquals(r, Escaping.unescape(e));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "a<SOH>       | a",
        "a<SOH>xb     | axb",
    })
    void unescapeToleratesBrokenEscapes(String escaped, String raw) {
        assertEquals(decode(raw), Escaping.unescape(decode(escaped)));
    }

    private static String decode(String s) {
        return s.replace("<TAB>", "\t").replace("<LF>", "\n").replace("<CR>", "\r")
                .replace("<SOH>", "\001").replace("<NUL>", "\0");
    }
}
