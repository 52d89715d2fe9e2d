package org.saslauth.password;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.commons.codec.digest.Crypt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Crypt hashes through the system's libxcrypt ({@link SystemCrypt}; JNA here, on Java 17) and
 * through the Java code, for every crypt scheme: both make the same hash of the same password
 * and setting, and both accept what {@code doveadm pw} and libxcrypt itself (Python's crypt
 * module, a thin layer over it) made. yescrypt, gost-yescrypt and scrypt, which only libxcrypt
 * computes, from hashes libxcrypt made.
 */
class SystemCryptTest {

    private static final List<byte[]> PASSWORDS = List.of(bytes("password"), bytes("correct horse battery staple"),
            "j\u00fcrgen-\u00e9t\u00e9".getBytes(StandardCharsets.UTF_8), new byte[] {(byte) 0xff, (byte) 0x80, 'a'},
            bytes("x".repeat(256)));

    @BeforeEach
    void libxcryptIsHere() {
        assertTrue(SystemCrypt.available(), "libxcrypt must be usable on this machine (libcrypt1): " + SystemCrypt.whyNot());
    }

    @AfterEach
    void backToLibxcrypt() {
        SystemCrypt.javaOnly = false;
    }

    @Test
    void libxcryptAndTheJavaCodeMakeTheSameHashes() {
        List<String> settings = List.of("ab", "./", "$1$abcdefgh", "$1$ab", "$5$saltsalt", "$5$rounds=1000$0123456789abcdef",
                "$6$saltsalt", "$6$rounds=1000$0123456789abcdef", "$6$rounds=12345$xy");
        for (byte[] password : PASSWORDS) {
            for (String setting : settings) {
                byte[] system = SystemCrypt.hash(password, bytes(setting)).orElseThrow();
                byte[] java = bytes(Crypt.crypt(password.clone(), setting));
                assertArrayEquals(java, system, setting + " of " + new String(password, StandardCharsets.ISO_8859_1));
            }
            for (String bcrypt : List.of("$2a$05$abcdefghijklmnopqrstuu", "$2b$05$abcdefghijklmnopqrstuu",
                    "$2y$04$abcdefghijklmnopqrstuu")) {
                if (bcrypt.startsWith("$2a$") && password[0] == (byte) 0xff) {
                    // crypt_blowfish's $2a$ (libxcrypt's, and so Dovecot's) differs from OpenBSD's for
                    // a few 8-bit passwords, a safeguard against the old sign-extension bug: the
                    // system's answer is the one used where it can be
                    continue;
                }
                byte[] system = SystemCrypt.hash(password, bytes(bcrypt)).orElseThrow();
                assertTrue(Bcrypt.matches(new String(system, StandardCharsets.US_ASCII), password),
                        "the Java bcrypt accepts libxcrypt's " + bcrypt + " of " + password.length + " bytes " + new String(password, StandardCharsets.ISO_8859_1).substring(0, Math.min(8, password.length)));
            }
        }
    }

    /** Each scheme through both ways: the same verdicts for the right and a wrong password. */
    @Test
    void everySchemeChecksAlikeBothWays() {
        List<String> made = new ArrayList<>();
        List<Doveadm.Make> calls = new ArrayList<>();
        for (String scheme : List.of("CRYPT", "DES-CRYPT", "MD5-CRYPT", "SHA256-CRYPT", "SHA512-CRYPT", "BLF-CRYPT")) {
            for (byte[] password : PASSWORDS.subList(0, 3)) {
                calls.add(new Doveadm.Make(scheme, password, scheme.equals("BLF-CRYPT") ? 5 : null, null));
            }
        }
        for (Doveadm.Result r : Doveadm.make(calls)) {
            assertEquals(0, r.status(), r.output());
            made.add(r.output());
        }
        for (int i = 0; i < calls.size(); i++) {
            byte[] password = calls.get(i).password();
            for (boolean javaOnly : List.of(false, true)) {
                SystemCrypt.javaOnly = javaOnly;
                PasswordHash check = PasswordSchemes.parse(made.get(i));
                String how = made.get(i) + (javaOnly ? " in Java" : " by libxcrypt");
                assertTrue(check.matches(password.clone()), how);
                assertFalse(check.matches(bytes("wrong")), how);
            }
        }
    }

    /** yescrypt (Debian's /etc/shadow), gost-yescrypt and scrypt: libxcrypt alone computes them. */
    @Test
    void yescryptGostYescryptAndScryptFromLibxcrypt() throws Exception {
        for (String setting : List.of("$y$j9T$F5Jx5fExrKuJdvXmWLKV70", "$y$j8T$abcdefghijklmnop", "$gy$j9T$abcdefghijkl",
                "$7$CU..../....abcdefgh")) {
            for (byte[] password : List.of(PASSWORDS.get(0), PASSWORDS.get(2), PASSWORDS.get(4))) { // UTF-8, for Python
                String hash = python(password, setting);
                assertTrue(hash.startsWith(setting + "$"), hash);
                PasswordHash stored = PasswordSchemes.parse("{CRYPT}" + hash);
                assertTrue(stored.matches(password.clone()), hash);
                assertFalse(stored.matches(bytes("wrong")), hash);
                assertTrue(PasswordSchemes.parse("{SHA512-CRYPT}" + hash).matches(password.clone()),
                        "as in Dovecot, every crypt scheme checks whatever crypt() knows");
            }
        }
    }

    @Test
    void withoutLibxcryptYescryptIsAClearError() {
        SystemCrypt.javaOnly = true;
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> PasswordSchemes.parse("{CRYPT}$y$j9T$F5Jx5fExrKuJdvXmWLKV70$xWwsfWr03/R5x5W0wDLBZBJiN3WLaaBNsgxyGnXB8U5"));
        assertTrue(e.getMessage().contains("yescrypt $y$) needs the system's libxcrypt"), e.getMessage());
    }

    /** A NUL would end the phrase for crypt(3): "abc\0anything" must not match "abc". */
    @Test
    void aPasswordWithANulNeverMatches() {
        byte[] hash = SystemCrypt.hash(bytes("abc"), bytes("$6$saltsalt")).orElseThrow();
        assertEquals(0, SystemCrypt.hash(bytes("abc\0def"), hash).orElseThrow().length);
    }

    /** A setting libxcrypt refuses: no hash, so no password matches. */
    @Test
    void aRefusedSettingMatchesNothing() {
        assertEquals(0, SystemCrypt.hash(bytes("password"), bytes("$9$nonsense")).orElseThrow().length);
        assertEquals(0, SystemCrypt.hash(bytes("password"), bytes("")).orElseThrow().length);
    }

    /** libxcrypt's own hash of {@code password} with {@code setting}, through Python's crypt module. */
    private static String python(byte[] password, String setting) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("python3", "-W", "ignore", "-c",
                "import crypt, sys; sys.stdout.write(crypt.crypt(sys.stdin.buffer.read().decode('utf-8', 'surrogateescape'),"
                        + " sys.argv[1]))", setting).start();
        p.getOutputStream().write(password);
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            fail("python3's crypt failed: " + err);
        }
        return out;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
