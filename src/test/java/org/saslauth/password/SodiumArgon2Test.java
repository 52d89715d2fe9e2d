package org.saslauth.password;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.crypto.params.Argon2Parameters;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * libsodium through JNA, on the tests' own Java (17): what it computes is what Bouncy Castle
 * computes, byte for byte. The launcher's helpers, the FFM API and the fallback where neither
 * binding loads run in {@code SodiumArgon2IT}.
 */
class SodiumArgon2Test {

    @Test
    void libsodiumThroughJnaComputesWhatBouncyCastleComputes() {
        if (!Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libsodium.so.23"))
                && !Files.exists(Path.of("/usr/lib/aarch64-linux-gnu/libsodium.so.23"))) {
            String why = "no libsodium.so.23 (Debian's libsodium23): " + SodiumArgon2.whyNot();
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail(why + " (CI=true: this test must run)");
            }
            Assumptions.abort(why);
        }
        assertTrue(SodiumArgon2.available(), SodiumArgon2.whyNot());
        assertEquals("", SodiumArgon2.whyNot());
        byte[] salt = "sixteen byte s\u00e4lt".getBytes(StandardCharsets.UTF_8);
        salt = java.util.Arrays.copyOf(salt, 16);
        for (byte[] password : List.of("p\u00e4ss\u0000w\u00f6rd".getBytes(StandardCharsets.UTF_8), new byte[0])) {
            // argon2id, one pass and two; argon2i at its three passes; a 64-byte hash
            int[][] costs = {{1, 8, 32}, {2, 16, 32}, {3, 8, 16}, {1, 8, 64}};
            for (int[] c : costs) {
                for (boolean id : new boolean[] {true, false}) {
                    if (!id && c[0] < 3) {
                        continue; // libsodium takes argon2i from 3 passes on
                    }
                    int type = id ? Argon2Parameters.ARGON2_id : Argon2Parameters.ARGON2_i;
                    byte[] expected = Argon2.bouncyCastle(type, c[0], c[1], 1, salt, password, c[2]);
                    byte[] made = SodiumArgon2.hash(id, c[0], c[1], 1, salt, password, c[2]).orElseThrow();
                    assertArrayEquals(expected, made, (id ? "argon2id" : "argon2i") + " t=" + c[0] + " m=" + c[1]
                            + " KiB, " + c[2] + " bytes, password of " + password.length + " bytes");
                }
            }
        }
        // what libsodium does not take is left to Bouncy Castle
        assertTrue(SodiumArgon2.hash(true, 1, 8, 2, salt, new byte[1], 32).isEmpty(), "p=2");
        assertTrue(SodiumArgon2.hash(false, 1, 8, 1, salt, new byte[1], 32).isEmpty(), "argon2i t=1");
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
