package org.saslauth.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * User names as hostile clients send them. Names with control characters or over 255 bytes of
 * UTF-8 are refused; any other name, non-ASCII included, goes out in {@code user=} escaped per
 * Dovecot's rules and can never add a field or a line to a reply.
 */
class AuthServerUserNameTest {

    private static final String FAILED = "FAIL\t1\treason=Authentication failed";

    @ParameterizedTest(name = "OREORE {0}")
    @ValueSource(strings = {"ålice", "用户", "пользователь", "😀mail", "a\\b", "a\"b", "a b", "o'hara@example.org",
            "ﬁ", "a\u00a0b"})
    void nonAsciiAndPunctuationNamesGoOutAsSent(String name) throws Exception {
        TestServer.Result r = TestServer.run("OREORE", oreore(1, name));

        assertEquals(List.of("OK\t1\tuser=" + name), r.replies());
        assertEquals(name, Escaping.unescape(r.replies().get(0).substring("OK\t1\tuser=".length())));
    }

    @Test
    void aNonAsciiNameWithAWrongPasswordIsNamedInTheFail() throws Exception {
        TestServer.Result r = TestServer.run("PLAIN,LOGIN",
                "AUTH\t1\tPLAIN\tresp=" + b64("\0ålice\0pw"),
                "AUTH\t2\tLOGIN\tresp=" + b64("用户"), "CONT\t2\t" + b64("pw"));

        assertEquals(List.of("FAIL\t1\tuser=ålice\treason=Authentication failed", "CONT\t2\tUGFzc3dvcmQ6",
                "FAIL\t2\tuser=用户\treason=Authentication failed"), r.replies());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "NUL           | alice\\0",
        "TAB           | alice\\tuser=root",
        "LF            | alice\\nOK\\t2\\tuser=root",
        "CR            | alice\\rOK\\t2\\tuser=root",
        "CRLF          | alice\\r\\nOK\\t2\\tuser=root",
        "SOH           | alice\\1t",
        "escaped TAB   | alice\\1tuser=root",
        "DEL           | alice\\x7f",
        "NEL           | alice\\x85",
        "ESC           | alice\\x1b[2J",
        "LINE SEP      | alice\u2028OK",
        "PARAGRAPH SEP | alice\u2029OK"})
    void namesWithControlCharactersAreRefusedWithoutAnExtraFieldOrLine(String what, String spelled) throws Exception {
        String name = unspell(spelled);
        TestServer.Result r = TestServer.run("PLAIN,LOGIN,OREORE",
                oreore(1, name),
                "AUTH\t2\tPLAIN\tresp=" + b64("\0" + name + "\0" + TestServer.PASSWORD),
                "AUTH\t3\tLOGIN\tresp=" + b64(name), "CONT\t3\t" + b64(TestServer.PASSWORD),
                "AUTH\t4\tLOGIN", "CONT\t4\t" + b64(name), "CONT\t4\t" + b64(TestServer.PASSWORD));

        // in PLAIN, a NUL in the name makes a third separator: a malformed message
        String plain = name.indexOf('\0') >= 0 ? "Invalid authentication data" : "Authentication failed";
        assertEquals(List.of(FAILED, "FAIL\t2\treason=" + plain, "CONT\t3\tUGFzc3dvcmQ6",
                "FAIL\t3\treason=Authentication failed", "CONT\t4\tVXNlcm5hbWU6", "CONT\t4\tUGFzc3dvcmQ6",
                "FAIL\t4\treason=Authentication failed"), r.replies());
        AuthServerLogForgeryTest.assertOneLineEach(r.log());
    }

    @ParameterizedTest(name = "{0} bytes")
    @CsvSource({"255, true", "256, false", "300, false", "4000, false"})
    void namesOver255BytesAreRefused(int bytes, boolean accepted) throws Exception {
        String ascii = "a".repeat(bytes);
        String twoByte = "é".repeat(bytes / 2) + "a".repeat(bytes % 2);
        assertEquals(bytes, twoByte.getBytes(StandardCharsets.UTF_8).length);

        TestServer.Result r = TestServer.run("OREORE", oreore(1, ascii), oreore(2, twoByte));

        assertEquals(accepted
                ? List.of("OK\t1\tuser=" + ascii, "OK\t2\tuser=" + twoByte)
                : List.of(FAILED, "FAIL\t2\treason=Authentication failed"), r.replies());
    }

    @ParameterizedTest
    @ValueSource(strings = {"ff", "c3", "c0af", "eda080", "f4908080", "616c696365ff"})
    void namesThatAreNotUtf8AreRefused(String hex) throws Exception {
        byte[] name = java.util.HexFormat.of().parseHex(hex);
        TestServer.Result r = TestServer.run("OREORE", "AUTH\t1\tOREORE\tresp=" + Base64.getEncoder().encodeToString(name));

        assertEquals(List.of(FAILED), r.replies());
    }

    @Test
    void anEmptyNameIsRefused() throws Exception {
        TestServer.Result r = TestServer.run("OREORE,PLAIN", "AUTH\t1\tOREORE\tresp==",
                "AUTH\t2\tPLAIN\tresp=" + b64("\0\0" + TestServer.PASSWORD));

        assertEquals(List.of("FAIL\t1\treason=Authentication failed", "FAIL\t2\treason=Authentication failed"),
                r.replies());
    }

    @Test
    void anInjectedOkLineIsNeverSent() throws Exception {
        TestServer.Result r = TestServer.run("OREORE",
                oreore(1, "x\nOK\t2\tuser=root"), oreore(2, "x\tuser=root\nOK\t3\tuser=root"));

        for (String line : r.replies()) {
            assertFalse(line.contains("root"), line);
            assertEquals(3, line.split("\t", -1).length, line);
        }
    }

    /** Dovecot's escaping, both ways: each special character, and the rest left alone. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "a\\tb       | a\\1tb",
        "a\\nb       | a\\1nb",
        "a\\rb       | a\\1rb",
        "a\\0b       | a\\10b",
        "a\\1b       | a\\11b",
        "\\t\\1\\n    | \\1t\\11\\1n",
        "a\\\\b      | a\\\\b",
        "plain       | plain"})
    void escaping(String plain, String escaped) {
        assertEquals(unspell(escaped), Escaping.escape(unspell(plain)));
        assertEquals(unspell(plain), Escaping.unescape(unspell(escaped)));
    }

    private static String oreore(int id, String name) {
        return "AUTH\t" + id + "\tOREORE\tservice=smtp\trip=192.0.2.1\tresp=" + b64(name);
    }

    private static String b64(String s) {
        return TestServer.b64(s);
    }

    /** Reads \t \n \r \0 \1 (for \001), \xHH and \\ in a table cell. */
    private static String unspell(String s) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\') {
                out.append(c);
                continue;
            }
            char e = s.charAt(++i);
            switch (e) {
                case 't' -> out.append('\t');
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case '0' -> out.append('\0');
                case '1' -> out.append('\001');
                case 'x' -> {
                    out.append((char) Integer.parseInt(s.substring(i + 1, i + 3), 16));
                    i += 2;
                }
                default -> out.append(e);
            }
        }
        return out.toString();
    }
}
