package org.saslauth.protocol;

import org.saslauth.Log;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Logins of every kind at trace level: no password (right or wrong), no base64 credential as
 * sent, and no decoded PLAIN or LOGIN payload may reach the log.
 */
class AuthServerSecretsTest {

    private static final String RIGHT = TestServer.PASSWORD;
    private static final String WRONG = "Wr0ng-Guess-7";

    static Stream<Arguments> logins() {
        String plainRight = "\0alice\0" + RIGHT;
        String plainWrong = "alice\0alice\0" + WRONG;
        String huge = b64(plainRight).repeat(1 + Limits.MAX_LINE / 20);
        return Stream.of(
                Arguments.of("PLAIN, right, initial response", List.of(
                        "AUTH\t1\tPLAIN\tservice=smtp\tnologin\tlip=::1\trip=192.0.2.1\tresp=" + b64(plainRight))),
                Arguments.of("PLAIN, wrong, initial response", List.of(
                        "AUTH\t1\tPLAIN\tservice=smtp\trip=192.0.2.1\tresp=" + b64(plainWrong))),
                Arguments.of("PLAIN, right, no initial response", List.of(
                        "AUTH\t1\tplain\tservice=smtp", "CONT\t1\t" + b64(plainRight))),
                Arguments.of("PLAIN, wrong, no initial response", List.of(
                        "AUTH\t1\tPLAIN\tservice=smtp", "CONT\t1\t" + b64(plainWrong))),
                Arguments.of("PLAIN, other authzid", List.of(
                        "AUTH\t1\tPLAIN\tresp=" + b64("root\0alice\0" + RIGHT))),
                Arguments.of("PLAIN, unknown user", List.of("AUTH\t1\tPLAIN\tresp=" + b64("\0bob\0" + WRONG))),
                Arguments.of("PLAIN, base64 without padding", List.of(
                        "AUTH\t1\tPLAIN\tresp=" + b64(plainRight).replace("=", ""))),
                Arguments.of("PLAIN, three NULs", List.of("AUTH\t1\tPLAIN\tresp=" + b64(plainRight + "\0" + WRONG))),
                Arguments.of("LOGIN, right, user in initial response", List.of(
                        "AUTH\t1\tLOGIN\tservice=smtp\tresp=" + b64("alice"), "CONT\t1\t" + b64(RIGHT))),
                Arguments.of("LOGIN, wrong, no initial response", List.of(
                        "AUTH\t1\tLOGIN\tservice=smtp", "CONT\t1\t" + b64("alice"), "CONT\t1\t" + b64(WRONG))),
                Arguments.of("LOGIN, right, no initial response", List.of(
                        "AUTH\t1\tLOGIN", "CONT\t1\t" + b64("alice"), "CONT\t1\t" + b64(RIGHT))),
                Arguments.of("LOGIN, password after the end", List.of(
                        "AUTH\t1\tLOGIN\tresp=" + b64("alice"), "CONT\t1\t" + b64(WRONG), "CONT\t1\t" + b64(RIGHT))),
                Arguments.of("OREORE", List.of("AUTH\t1\tOREORE\tresp=" + b64("alice"),
                        "AUTH\t2\tOREORE\tresp=" + b64("alice"), "CONT\t2\t" + b64(RIGHT))),
                Arguments.of("invalid base64 holding the password", List.of(
                        "AUTH\t1\tPLAIN\tresp=" + RIGHT + "!", "AUTH\t2\tLOGIN", "CONT\t2\t*" + WRONG + "*")),
                Arguments.of("resp= not last, twice", List.of(
                        "AUTH\t1\tPLAIN\tresp=" + b64(plainWrong) + "\tservice=smtp\tresp=" + b64(plainRight))),
                Arguments.of("CONT for an unknown id", List.of("CONT\t9\t" + b64(plainRight))),
                Arguments.of("unsupported mechanism", List.of("AUTH\t1\tCRAM-MD5\tresp=" + b64(plainRight))),
                Arguments.of("duplicate id", List.of("AUTH\t1\tLOGIN", "AUTH\t1\tPLAIN\tresp=" + b64(plainRight))),
                Arguments.of("overlong AUTH", List.of("AUTH\t1\tPLAIN\tresp=" + huge)),
                Arguments.of("overlong CONT", List.of("AUTH\t1\tLOGIN\tresp=" + b64("alice"), "CONT\t1\t" + huge)),
                Arguments.of("credentials in the rip", List.of(
                        "AUTH\t1\tPLAIN\trip=" + b64(plainRight) + "\tresp=" + b64(plainRight))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("logins")
    void noSecretInTheLog(String what, List<String> lines) throws Exception {
        TestServer.Result r = TestServer.run("PLAIN,LOGIN,OREORE", lines.toArray(String[]::new));

        String log = r.log().raw();
        assertTrue(log.lines().anyMatch(l -> l.startsWith("DEBUG ") || l.contains(" DEBUG ")), "not logged at debug level: " + log);
        assertTrue(r.log().events().size() >= 2, "nothing logged about the exchange: " + log);
        for (String secret : secrets(lines)) {
            if (lines.stream().anyMatch(l -> l.contains("\trip=" + secret))) {
                continue; // a client may put anything in rip=, and rip= is logged
            }
            assertFalse(log.contains(secret), "logged: " + secret + "\n" + log);
        }
    }

    /** The passwords, each credential field as sent, and each decoded payload as the log would show it. */
    private static List<String> secrets(List<String> lines) {
        List<String> out = new ArrayList<>(List.of(RIGHT, WRONG));
        for (String line : lines) {
            String[] f = line.split("\t", -1);
            for (int i = 2; i < f.length; i++) {
                String value = f[i].startsWith("resp=") ? f[i].substring(5) : f[0].equals("CONT") ? f[i] : null;
                if (value == null || value.length() < 8) {
                    continue;
                }
                out.add(value.substring(0, Math.min(value.length(), 40)));
                try {
                    String decoded = new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
                    if (decoded.indexOf('\0') >= 0) {
                        out.add(decoded);
                        out.add(Log.quote(decoded).replace("\"", ""));
                    }
                } catch (IllegalArgumentException e) {
                    // not base64: the raw value is the secret
                }
            }
        }
        return out;
    }

    private static String b64(String s) {
        return TestServer.b64(s);
    }
}
