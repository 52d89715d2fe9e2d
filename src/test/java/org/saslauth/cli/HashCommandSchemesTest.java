package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.saslauth.password.PasswordSchemes;
import picocli.CommandLine;

/** {@code saslauth hash}: options reach the scheme, and the last line is the field. */
class HashCommandSchemesTest {

    private record Run(int status, String out, String err) {}

    private static Run run(String stdin, String... args) {
        HashCommand command = new HashCommand();
        command.stdin = new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(command);
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int status = cl.execute(args);
        return new Run(status, out.toString().strip(), err.toString());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "-s SHA512-CRYPT -r 6000    | {SHA512-CRYPT}$6$rounds=6000$",
        "--scheme blf-crypt --rounds 4 | {BLF-CRYPT}$2y$04$",
        "-s PBKDF2 -r 1000          | $1000$",
        "-s scram-sha-256 -r 5000   | {SCRAM-SHA-256}5000,",
        "-s ARGON2ID -r 1           | ,t=1,p=1$",
        "-s SSHA.HEX                | {SSHA.HEX}",
        "-s DIGEST-MD5 -u user@realm | {DIGEST-MD5}",
    })
    void optionsReachTheScheme(String args, String expected) {
        Run r = run("secret\n", args.split(" "));
        assertEquals(ExitCodes.OK, r.status(), r.err());
        assertTrue(r.out().contains(expected), r.out());
        String user = args.contains("-u") ? "user@realm" : null;
        assertTrue(PasswordSchemes.parse(r.out(), user).matches("secret".getBytes(StandardCharsets.UTF_8)), r.out());
    }

    @Test
    void defaultIsSha512Crypt() {
        assertTrue(run("secret\n").out().startsWith("{SHA512-CRYPT}$6$"));
    }

    @ParameterizedTest(name = "line end {index}")
    @ValueSource(strings = {"\n", "\r\n"})
    void theEmptyPasswordIsRefusedUnlessAllowed(String line) {
        for (String[] args : new String[][] {{}, {"-s", "PLAIN"}, {"-s", "CLEARTEXT"}, {"-s", "SSHA512"}}) {
            Run r = run(line, args);
            assertEquals(ExitCodes.USAGE, r.status(), String.join(" ", args));
            assertEquals("", r.out());
            assertTrue(r.err().contains("empty password") && r.err().contains("--allow-empty"), r.err());
        }
        Run plain = run(line, "-s", "PLAIN", "--allow-empty");
        assertEquals(ExitCodes.OK, plain.status(), plain.err());
        assertEquals("{PLAIN}", plain.out());
        Run crypt = run(line, "--allow-empty");
        assertEquals(ExitCodes.OK, crypt.status(), crypt.err());
        assertTrue(PasswordSchemes.parse(crypt.out()).matches(new byte[0]), crypt.out());
    }

    @Test
    void allowEmptyIsInTheHelp() {
        Run r = run("", "--help");
        assertEquals(ExitCodes.OK, r.status());
        assertTrue(r.out().contains("--allow-empty"), r.out());
        assertFalse(r.out().contains("PLAIN-TRUNC"), "not offered as a scheme: " + r.out());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "-s NOPE            | cannot make {NOPE}",
        "-s DIGEST-MD5      | needs a user name",
        "-s BLF-CRYPT -r 40 | bcrypt cost must be between 4 and 14",
        "-s PLAIN-TRUNC     | will not make {PLAIN-TRUNC}: it is only for importing passwords",
        "-s plain-trunc.b64 | use PLAIN or a real hash",
    })
    void badRequestsAreUsageErrors(String args, String message) {
        Run r = run("secret\n", args.split(" "));
        assertEquals(ExitCodes.USAGE, r.status());
        assertTrue(r.err().contains(message), r.err());
        assertEquals("", r.out());
    }
}
