package org.saslauth.password;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.bouncycastle.crypto.params.Argon2Parameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Where libsodium cannot be reached (Java 17, on which the unit tests run, or a later Java whose
 * class path runs without native access), Argon2 falls back to Bouncy Castle quietly and checks
 * as before. The libsodium path itself runs in {@code SodiumArgon2IT}, on a JDK 22+.
 */
class SodiumArgon2Test {

    @Test
    void withoutTheFfmApiOrNativeAccessBouncyCastleComputes() {
        assertFalse(SodiumArgon2.available());
        String expected = Runtime.version().feature() < 22
                ? "Java " + Runtime.version().feature() + " has no FFM API"
                : "native access is not enabled";
        assertTrue(SodiumArgon2.whyNot().startsWith(expected), SodiumArgon2.whyNot());
        byte[] salt = new byte[16];
        assertTrue(SodiumArgon2.hash(true, 1, 8, 1, salt, "pw".getBytes(StandardCharsets.UTF_8), 32).isEmpty());
    }

    /** doveadm pw's strings (libsodium's) still match their password, and only theirs. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$HbvtMIpE9geU5xHjN8RudA$+STomzwVE010+RQS73j15wOJTnuaYovLAlyipoKXAFY | secret",
        "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$hY9BjSOqkMqXnM3vV6porw$VTKSHJF4Fq+ESyoLBHS5H/qud8YjT6q6vTfC3CMbG0w | secret",
    })
    void dovecotsHashesCheckAsBefore(String field, String password) {
        PasswordHash hash = PasswordSchemes.parse(field);
        assertTrue(hash.matches(password.getBytes(StandardCharsets.UTF_8)));
        assertFalse(hash.matches((password + "x").getBytes(StandardCharsets.UTF_8)));
    }

    /** The fallback computes the strings libsodium would not take too: two lanes, a short salt. */
    @Test
    void bouncyCastleComputesWhatLibsodiumDoesNotTake() {
        byte[] password = "secret".getBytes(StandardCharsets.UTF_8);
        byte[] salt = "8bytes!!".getBytes(StandardCharsets.US_ASCII);
        byte[] made = Argon2.bouncyCastle(Argon2Parameters.ARGON2_id, 2, 64, 2, salt, password, 32);
        Base64.Encoder b64 = Base64.getEncoder().withoutPadding();
        String field = "{ARGON2ID}$argon2id$v=19$m=64,t=2,p=2$" + b64.encodeToString(salt) + "$" + b64.encodeToString(made);
        PasswordHash hash = PasswordSchemes.parse(field);
        assertTrue(hash.matches(password));
        assertFalse(hash.matches("Secret".getBytes(StandardCharsets.UTF_8)));
        assertEquals(32, made.length);
        assertArrayEquals(made, Argon2.bouncyCastle(Argon2Parameters.ARGON2_id, 2, 64, 2, salt, password, 32));
    }
}
