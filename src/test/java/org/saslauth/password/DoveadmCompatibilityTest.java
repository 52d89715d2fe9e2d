package org.saslauth.password;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Both directions against the real {@code doveadm pw}: every hash doveadm makes verifies here (and
 * a wrong password does not), and every hash {@code saslauth hash} makes passes
 * {@code doveadm pw -t}. All doveadm calls of a direction run as one batch.
 */
class DoveadmCompatibilityTest {

    static final String USER = "jörg@example.org";

    /** Every scheme doveadm makes, with some encoding suffixes. PLAIN-TRUNC is in its own test. */
    static final List<String> SCHEMES = List.of(
            "PLAIN", "CLEAR", "CLEARTEXT", "CRYPT", "DES-CRYPT", "MD5-CRYPT", "MD5",
            "SHA256-CRYPT", "SHA512-CRYPT", "BLF-CRYPT", "ARGON2I", "ARGON2ID", "PBKDF2",
            "SHA", "SHA1", "SHA256", "SHA512", "SSHA", "SSHA256", "SSHA512", "SMD5",
            "PLAIN-MD5", "LDAP-MD5", "PLAIN-MD4", "CRAM-MD5", "HMAC-MD5", "DIGEST-MD5",
            "SCRAM-SHA-1", "SCRAM-SHA-256",
            "SHA256.HEX", "SHA512.HEX", "SSHA.B64", "SSHA256.HEX", "SMD5.HEX", "PLAIN.B64", "PLAIN.HEX",
            "PLAIN-MD5.B64", "LDAP-MD5.HEX", "CRAM-MD5.BASE64", "DIGEST-MD5.B64", "SHA.HEX", "PLAIN-MD4.B64");

    /** Passwords by label: ASCII, non-ASCII, empty, 200 bytes. */
    static final Map<String, byte[]> PASSWORDS = new LinkedHashMap<>();

    static {
        PASSWORDS.put("ascii", "Secret 123!$x".getBytes(StandardCharsets.UTF_8));
        PASSWORDS.put("non-ascii", "pässwörd ☃ 日本".getBytes(StandardCharsets.UTF_8));
        PASSWORDS.put("empty", new byte[0]);
        // printable ASCII without ':', which no plaintext passwd-file field can hold
        String chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 !\"#$%&'()*+,-./;<=>?@[\\]^_`{|}~";
        byte[] longOne = new byte[200];
        for (int i = 0; i < longOne.length; i++) {
            longOne[i] = (byte) chars.charAt(i * 7 % chars.length());
        }
        PASSWORDS.put("200 bytes", longOne);
    }

    private static Map<String, String> fromDoveadm;
    private static Map<String, Doveadm.Result> ofSaslauth;
    private static Map<String, String> saslauthHashes;

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String scheme : SCHEMES) {
            for (String label : PASSWORDS.keySet()) {
                out.add(Arguments.of(scheme, label));
            }
        }
        return out.stream();
    }

    private static String key(String scheme, String label) {
        return scheme + " / " + label;
    }

    private static String userFor(String scheme) {
        return scheme.startsWith("DIGEST-MD5") ? USER : null;
    }

    private static synchronized Map<String, String> doveadmHashes() {
        if (fromDoveadm == null) {
            List<Doveadm.Make> calls = new ArrayList<>();
            List<String> keys = new ArrayList<>();
            cases().forEach(a -> {
                String scheme = (String) a.get()[0];
                String label = (String) a.get()[1];
                calls.add(new Doveadm.Make(scheme, PASSWORDS.get(label), null, userFor(scheme)));
                keys.add(key(scheme, label));
            });
            List<Doveadm.Result> results = Doveadm.make(calls);
            Map<String, String> hashes = new LinkedHashMap<>();
            for (int i = 0; i < keys.size(); i++) {
                Doveadm.Result r = results.get(i);
                assertEquals(0, r.status(), () -> "doveadm pw failed: " + r.output());
                hashes.put(keys.get(i), r.output());
            }
            fromDoveadm = hashes;
        }
        return fromDoveadm;
    }

    private static synchronized Map<String, Doveadm.Result> saslauthChecked() {
        if (ofSaslauth == null) {
            List<Doveadm.Test> calls = new ArrayList<>();
            List<String> keys = new ArrayList<>();
            Map<String, String> hashes = new LinkedHashMap<>();
            cases().forEach(a -> {
                String scheme = (String) a.get()[0];
                String label = (String) a.get()[1];
                String hash = PasswordSchemes.hash(scheme, PASSWORDS.get(label).clone(), OptionalInt.empty(),
                        Optional.ofNullable(userFor(scheme)));
                calls.add(new Doveadm.Test(hash, PASSWORDS.get(label), userFor(scheme)));
                keys.add(key(scheme, label));
                hashes.put(key(scheme, label), hash);
            });
            List<Doveadm.Result> results = Doveadm.test(calls);
            Map<String, Doveadm.Result> checked = new LinkedHashMap<>();
            for (int i = 0; i < keys.size(); i++) {
                checked.put(keys.get(i), results.get(i));
            }
            saslauthHashes = hashes;
            ofSaslauth = checked;
        }
        return ofSaslauth;
    }

    static byte[] wrong(byte[] password) {
        if (password.length == 0) {
            return "x".getBytes(StandardCharsets.US_ASCII);
        }
        byte[] w = password.clone();
        w[0] ^= 1;
        return w;
    }

    @ParameterizedTest(name = "{0}, {1} password")
    @MethodSource("cases")
    void doveadmHashVerifiesHere(String scheme, String label) {
        String hash = doveadmHashes().get(key(scheme, label));
        byte[] password = PASSWORDS.get(label);
        PasswordHash parsed = PasswordSchemes.parse(hash, USER);
        assertTrue(parsed.matches(password.clone()), () -> "doveadm's " + hash + " does not verify");
        assertFalse(parsed.matches(wrong(password)), () -> "doveadm's " + hash + " takes a wrong password");
    }

    @ParameterizedTest(name = "{0}, {1} password")
    @MethodSource("cases")
    void saslauthHashPassesDoveadm(String scheme, String label) {
        Doveadm.Result r = saslauthChecked().get(key(scheme, label));
        String hash = saslauthHashes.get(key(scheme, label));
        assertEquals(0, r.status(), () -> "doveadm pw -t refused " + hash + ": " + r.output());
        assertTrue(hash.toUpperCase().startsWith("{" + scheme + "}"), hash);
        PasswordHash parsed = PasswordSchemes.parse(hash, USER);
        assertTrue(parsed.matches(PASSWORDS.get(label).clone()));
    }

    /** A passwd-file field without {SCHEME} is CRYPT: doveadm's crypt(3) hashes, prefix removed. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cryptForms")
    void bareCryptHashVerifies(String scheme) {
        for (String label : PASSWORDS.keySet()) {
            String hash = doveadmHashes().get(key(scheme, label));
            String bare = hash.substring(hash.indexOf('}') + 1);
            PasswordHash parsed = PasswordSchemes.parse(bare);
            assertEquals("CRYPT", parsed.scheme());
            assertTrue(parsed.matches(PASSWORDS.get(label).clone()), bare);
            assertFalse(parsed.matches(wrong(PASSWORDS.get(label))), bare);
        }
    }

    static Stream<String> cryptForms() {
        return Stream.of("DES-CRYPT", "MD5-CRYPT", "SHA256-CRYPT", "SHA512-CRYPT", "BLF-CRYPT", "ARGON2I", "ARGON2ID");
    }

    /** Rounds and costs both ways: doveadm -r verifies here, saslauth --rounds passes doveadm. */
    @ParameterizedTest(name = "{0} rounds {1}")
    @MethodSource("rounds")
    void roundsBothWays(String scheme, int rounds, String expect) {
        byte[] password = PASSWORDS.get("non-ascii");
        String ours = PasswordSchemes.hash(scheme, password.clone(), OptionalInt.of(rounds));
        assertTrue(ours.contains(expect), ours);
        List<Doveadm.Result> made = Doveadm.make(List.of(new Doveadm.Make(scheme, password, rounds, null)));
        List<Doveadm.Result> tested = Doveadm.test(List.of(new Doveadm.Test(ours, password, null)));
        assertEquals(0, tested.get(0).status(), () -> "doveadm pw -t refused " + ours + ": " + tested.get(0).output());
        String theirs = made.get(0).output();
        assertTrue(PasswordSchemes.parse(theirs).matches(password.clone()), theirs);
        assertFalse(PasswordSchemes.parse(theirs).matches(wrong(password)), theirs);
    }

    static Stream<Arguments> rounds() {
        return Stream.of(
                Arguments.of("SHA512-CRYPT", 6000, "$rounds=6000$"),
                Arguments.of("SHA256-CRYPT", 1000, "$rounds=1000$"),
                Arguments.of("BLF-CRYPT", 4, "$2y$04$"),
                Arguments.of("CRYPT", 6, "$2y$06$"),
                Arguments.of("PBKDF2", 1200, "$1200$"),
                Arguments.of("SCRAM-SHA-1", 5000, "}5000,"),
                Arguments.of("SCRAM-SHA-256", 4097, "}4097,"),
                Arguments.of("ARGON2I", 3, ",t=3,"),
                Arguments.of("ARGON2ID", 1, ",t=1,"));
    }

    /**
     * PLAIN-TRUNC is only read, never made (doveadm makes it without the length that its own check
     * then demands), so the stored forms are written here, and doveadm judges every candidate the
     * same way saslauth does.
     */
    @ParameterizedTest(name = "{0} with {1}")
    @MethodSource("truncated")
    void plainTruncAgreesWithDoveadm(String stored, String candidate) {
        byte[] password = candidate.getBytes(StandardCharsets.UTF_8);
        boolean here = PasswordSchemes.parse(stored).matches(password.clone());
        boolean there = Doveadm.test(List.of(new Doveadm.Test(stored, password, null))).get(0).status() == 0;
        assertEquals(there, here, "doveadm says " + there);
    }

    static Stream<Arguments> truncated() {
        return Stream.of(
                Arguments.of("{PLAIN-TRUNC}3-sec", "secret"),
                Arguments.of("{PLAIN-TRUNC}3-sec", "sec"),
                Arguments.of("{PLAIN-TRUNC}3-sec", "se"),
                Arguments.of("{PLAIN-TRUNC}3-sec", "sex"),
                Arguments.of("{PLAIN-TRUNC}3-sec", ""),
                Arguments.of("{PLAIN-TRUNC}8-sec", "secret"),
                Arguments.of("{PLAIN-TRUNC}8-sec", "sec"),
                Arguments.of("{PLAIN-TRUNC}5-", ""),
                Arguments.of("{PLAIN-TRUNC}5-", "x"),
                // "pässwörd" is 10 bytes of UTF-8, "pässw" 6
                Arguments.of("{PLAIN-TRUNC}10-pässwörd", "pässwörd"),
                Arguments.of("{PLAIN-TRUNC}10-pässwörd", "pässwör"),
                Arguments.of("{PLAIN-TRUNC}10-pässwörd", "pässwörd and more"),
                Arguments.of("{PLAIN-TRUNC}6-pässw", "pässwörd"),
                Arguments.of("{PLAIN-TRUNC}6-pässw", "passwörd"));
    }

    /** What saslauth refuses at load: doveadm takes any password for length 0. */
    @Test
    void plainTruncOfLengthZeroAcceptsAnythingInDoveadmAndIsRefusedHere() {
        for (String stored : List.of("{PLAIN-TRUNC}0-", "{PLAIN-TRUNC}000-")) {
            List<Doveadm.Result> there = Doveadm.test(List.of(
                    new Doveadm.Test(stored, new byte[0], null),
                    new Doveadm.Test(stored, "anything".getBytes(StandardCharsets.UTF_8), null)));
            assertEquals(0, there.get(0).status(), () -> there.get(0).output());
            assertEquals(0, there.get(1).status(), () -> there.get(1).output());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> PasswordSchemes.parse(stored));
            assertTrue(e.getMessage().contains("accepts any password"), e.getMessage());
        }
    }

    /** Locked accounts as /etc/shadow marks them: doveadm's crypt(3) matches nothing, nor does saslauth. */
    @Test
    void lockedCryptEntriesAgreeWithDoveadm() {
        List<String> stored = List.of("{CRYPT}!", "{CRYPT}*", "{CRYPT}!!", "{CRYPT}*LK*",
                "{CRYPT}!" + doveadmHashes().get(key("SHA512-CRYPT", "ascii")).substring("{SHA512-CRYPT}".length()),
                "{MD5-CRYPT}!" + doveadmHashes().get(key("MD5-CRYPT", "ascii")).substring("{MD5-CRYPT}".length()),
                "{DES-CRYPT}*");
        List<Doveadm.Test> calls = new ArrayList<>();
        List<String> what = new ArrayList<>();
        for (String hash : stored) {
            for (byte[] password : List.of(PASSWORDS.get("ascii"), PASSWORDS.get("empty"), "!".getBytes(StandardCharsets.UTF_8))) {
                calls.add(new Doveadm.Test(hash, password, null));
                what.add(hash + " with '" + new String(password, StandardCharsets.UTF_8) + "'");
                assertFalse(PasswordSchemes.parse(hash).matches(password.clone()), what.get(what.size() - 1));
            }
        }
        List<Doveadm.Result> results = Doveadm.test(calls);
        for (int i = 0; i < calls.size(); i++) {
            Doveadm.Result r = results.get(i);
            assertNotEquals(0, r.status(), what.get(i));
            assertTrue(r.output().contains("mismatch"), () -> "doveadm did not read it as a hash: " + r.output());
        }
    }

    /**
     * bcrypt's other version letters: doveadm makes only $2y$; the same hash as $2a$ and $2b$ gets
     * the same verdict here as from doveadm's crypt(3).
     */
    @ParameterizedTest(name = "${0}$")
    @MethodSource("bcryptVersions")
    void bcryptVersionsAgreeWithDoveadm(String version) {
        List<Doveadm.Test> calls = new ArrayList<>();
        List<String> stored = new ArrayList<>();
        for (String label : PASSWORDS.keySet()) {
            String hash = doveadmHashes().get(key("BLF-CRYPT", label)).replace("$2y$", "$" + version + "$");
            stored.add(hash);
            calls.add(new Doveadm.Test(hash, PASSWORDS.get(label), null));
        }
        List<Doveadm.Result> results = Doveadm.test(calls);
        int i = 0;
        for (String label : PASSWORDS.keySet()) {
            boolean there = results.get(i).status() == 0;
            boolean here = PasswordSchemes.parse(stored.get(i)).matches(PASSWORDS.get(label).clone());
            assertEquals(there, here, label + ": doveadm says " + there + " for " + stored.get(i));
            i++;
        }
    }

    static Stream<String> bcryptVersions() {
        return Stream.of("2a", "2b");
    }

    /** Salted schemes: two hashes of one password differ. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("salted")
    void saltsDiffer(String scheme) {
        byte[] p = PASSWORDS.get("ascii");
        String a = PasswordSchemes.hash(scheme, p.clone(), OptionalInt.empty());
        String b = PasswordSchemes.hash(scheme, p.clone(), OptionalInt.empty());
        assertNotEquals(a, b);
    }

    static Stream<String> salted() {
        return Stream.of("CRYPT", "DES-CRYPT", "MD5-CRYPT", "MD5", "SHA256-CRYPT", "SHA512-CRYPT", "BLF-CRYPT",
                "ARGON2I", "ARGON2ID", "PBKDF2", "SSHA", "SSHA256", "SSHA512", "SMD5", "SCRAM-SHA-1", "SCRAM-SHA-256");
    }
}
