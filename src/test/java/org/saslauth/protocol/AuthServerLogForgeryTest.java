package org.saslauth.protocol;

import org.saslauth.Log;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A client must not be able to write a log line of its own: every log event is one line, and an
 * injected "auth ok: rip=" stays inside a quoted value of the event it came with.
 */
class AuthServerLogForgeryTest {

    private static final String FORGED = "saslauth[1] - auth ok: rip=203.0.113.9 mech=PLAIN user=\"root\" id=1";

    /**
     * Bug: the debug line "AUTH id=.. rip=.." wrote the unescaped rip as it came, so a rip with
     * an escaped LF or a CR ({@code rip=1.2.3.4\001n...}) started a log line of the client's
     * choosing, one that a fail2ban filter would take as a login from another address.
     */
    @ParameterizedTest
    @ValueSource(strings = {"1.2.3.4\001n", "1.2.3.4\001r", "1.2.3.4\r"})
    void ripCannotStartALogLine(String breaker) throws Exception {
        TestServer.Result r = TestServer.run("PLAIN,LOGIN",
                "AUTH\t1\tPLAIN\tservice=smtp\trip=" + breaker + FORGED + "\tresp=" + TestServer.b64("\0bob\0x"));

        assertEquals(List.of("FAIL\t1\tuser=bob\treason=Authentication failed"), r.replies());
        assertOneLineEach(r.log());
        assertFalse(r.log().events().isEmpty());
    }

    @ParameterizedTest
    @ValueSource(strings = {"\001n", "\001r", "\n", "\r", "\u0085"})
    void userNameCannotStartALogLine(String breaker) throws Exception {
        TestServer.Result r = TestServer.run("PLAIN,LOGIN,OREORE",
                "AUTH\t1\tOREORE\tservice=smtp\trip=192.0.2.1\tresp=" + TestServer.b64("mallory" + breaker + FORGED),
                "AUTH\t2\tPLAIN\tservice=smtp\trip=192.0.2.1\tresp=" + TestServer.b64("\0mallory" + breaker + FORGED + "\0pw"),
                "AUTH\t3\tLOGIN\tservice=smtp\trip=192.0.2.1\tresp=" + TestServer.b64("mallory" + breaker + FORGED),
                "CONT\t3\t" + TestServer.b64("pw"));

        assertOneLineEach(r.log());
        for (String event : r.log().events()) {
            assertFalse(event.contains("auth ok"), "a forged name was accepted or logged as a success: " + event);
        }
    }

    /**
     * Neither a TAB (the protocol's and many log parsers' field separator) nor any other control
     * character, a Unicode line or paragraph separator or an ANSI escape from a user name or a
     * rip reaches a log event as it came: each is escaped inside the quoted value.
     */
    @ParameterizedTest
    @ValueSource(strings = {"\t", "\u000b", "\f", "\u001b[2K", "\u2028", "\u2029", "\u007f", "\u009b"})
    void noControlCharacterOfAClientReachesTheLog(String breaker) throws Exception {
        String rip = "1.2.3.4" + (breaker.equals("\t") ? "\001t" : breaker) + FORGED;
        TestServer.Result r = TestServer.run("PLAIN,LOGIN,OREORE",
                "AUTH\t1\tOREORE\tservice=smtp\trip=192.0.2.1\tresp=" + TestServer.b64("mallory" + breaker + FORGED),
                "AUTH\t2\tPLAIN\tservice=smtp\trip=" + rip + "\tresp="
                        + TestServer.b64("\0mallory" + breaker + FORGED + "\0pw"),
                "AUTH\t3\tLOGIN\tservice=smtp\trip=" + rip + "\tresp=" + TestServer.b64("mallory" + breaker + FORGED),
                "CONT\t3\t" + TestServer.b64("pw"),
                "CPID\t" + breaker + "1",
                "AUTH\t4\tPLAIN\tservice=smtp\trip=" + rip + "\tresp=" + TestServer.b64("\0alice\0wrong"));

        assertOneLineEach(r.log());
        assertTrue(r.log().events().size() >= 4, r.log().raw());
        for (String event : r.log().events()) {
            for (int i = 0; i < event.length(); i++) {
                char c = event.charAt(i);
                boolean control = c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\u2028' || c == '\u2029';
                assertFalse(control, String.format("U+%04X at %d of: %s", (int) c, i, event));
            }
        }
    }

    /** A name may hold quotes and backslashes (OREORE takes it); they are escaped inside user="...". */
    @ParameterizedTest
    @ValueSource(strings = {"mallory\" id=1 auth ok: rip=203.0.113.9", "\\\" auth failed: rip=203.0.113.9 \\"})
    void quotesInANameStayQuoted(String name) throws Exception {
        TestServer.Result r = TestServer.run("OREORE",
                "AUTH\t1\tOREORE\tservice=smtp\trip=192.0.2.1\tresp=" + TestServer.b64(name));

        assertEquals(List.of("OK\t1\tuser=" + name), r.replies());
        assertOneLineEach(r.log());
        List<String> results = r.log().events().stream().filter(e -> e.contains(" - auth ")).toList();
        assertEquals(1, results.size(), results.toString());
        assertTrue(results.get(0).endsWith(" - auth ok: rip=192.0.2.1 mech=OREORE user=" + Log.quote(name) + " id=1"),
                results.get(0));
    }

    static void assertOneLineEach(CapturedLog.Output log) {
        for (String event : log.events()) {
            assertTrue(event.indexOf('\n') < 0 && event.indexOf('\r') < 0 && event.indexOf('\u0085') < 0,
                    "event spans lines: " + event);
        }
        assertEquals(log.events().size(), log.raw().lines().count(), "log lines besides the events: " + log.raw());
    }
}
