package org.saslauth.password;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Known vectors (printed by doveadm pw 2.3.19) and the errors a passwd-file line can meet. */
class PasswordSchemesTest {

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=                                     | secret",
        "{SHA1}5en6G6MezRroT3XKqkdPOmY/BfQ=                                    | secret",
        "{SHA256}K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=                   | secret",
        "{SHA256}2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b | secret",
        "{SHA256.HEX}2BB80D537B1DA3E38BD30361AA855686BDE0EACD7162FEF6A25FE97BF527A25B | secret",
        "{sha512}vSsar3708Jvp9Szi2NWZZ02Bqp1qRCFpbcTZPdBhnWgs5WtNZKnvCXdhztmeD2cmW192CF5bDufKRpayrW/isg== | secret",
        "{SSHA}MKHFlSvGLKpMOku7uduZK6XQ3nZ/Ip2a                                | secret",
        "{SSHA.B64}/2ymKFZg85s120vSPWjgnT+Ntkl5MB60                            | secret",
        "{SSHA256}Pzhzu6FWVWboUZpqtLpV2HCdp3a2g9gNQfynHSevjBvhSUyU             | secret",
        "{SSHA512}qbGrz0KGdGVQKf3/IP0LFkUM/KLcL90amonZHRqglqfysWNIDUQ07av251XcZiay7cPQP3GRmHfofOUrEI/hP+iZvWg= | secret",
        "{SMD5}3T+wxay2FW+Ga4QhP+Hz3B8tRuI=                                    | secret",
        "{PLAIN-MD5}5ebe2294ecd0e0f08eab7690d2a6ee69                           | secret",
        "{LDAP-MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ==                                    | secret",
        "{MD5}5ebe2294ecd0e0f08eab7690d2a6ee69                                 | secret",
        "{MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ==                                         | secret",
        "{MD5}$1$9OhV/Cvw$80TPGe5q/sW668uHtr6kI1                              | secret",
        "{MD5-CRYPT}$1$C3HBaDbH$fqxd7TmqmuHgkSLtuCfJe.                        | secret",
        "$1$C3HBaDbH$fqxd7TmqmuHgkSLtuCfJe.                                   | secret",
        "{PLAIN-MD4}67d3dafef63ff00603aeef3769cfbf0d                           | secret",
        "{CRAM-MD5}cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56 | secret",
        "{HMAC-MD5}cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56 | secret",
        "{CRAM-MD5}00747cf2ffaf11c5ea4a64979c3901fc1d20dee13f480bb598f7d8575b23e61b | ''",
        "{PBKDF2}$1$sl9kCtupAcZM1DDe$5000$aaf05aa436a35366d29acd9f8c9a2ea45ca4015b | secret",
        "{SCRAM-SHA-1}4096,bAoxqbf37aJBWPKSTV3y5g==,xLOcip+Apwxe6TzWJw+Du/uGHFo=,pXswIJuiZNXGTWggVXCGKueBsh4= | secret",
        "{SCRAM-SHA-256}4096,9r1y2QNgwHLqOJqCOQumtw==,T9X5Oy60n6yvwXAUMsp3MqSLVGrPYSJ4TO/Tw/OfZ8Q=,O1LUIwXnkhkSe+TeVl90EeTf3U9DNKCic8tYRZvwXkU= | secret",
        "{SHA512-CRYPT}$6$1DShRLJAOOyRxFjb$3nyoIKjm/ZTC.OhIn6tB6gw35MmEcrTlVuEkwwjRvCcoWQKgTwnjSSjCBTVch2hJQYX/fGQjdDfdPdV9IkCP90 | secret",
        "{SHA256-CRYPT}$6$1DShRLJAOOyRxFjb$3nyoIKjm/ZTC.OhIn6tB6gw35MmEcrTlVuEkwwjRvCcoWQKgTwnjSSjCBTVch2hJQYX/fGQjdDfdPdV9IkCP90 | secret",
        "{SHA256-CRYPT}$5$EeMJGILvmAuRO.16$c2QNOAH3W4VGJtBXZllga/7zQLyPXgGiRK46EOfQ/8. | secret",
        "{BLF-CRYPT}$2y$05$/9rb1.T6mp2y2l7EcqPOu.tstdPvi0KBNLN6m5P1KMxPgCLAmRs.C | secret",
        "{CRYPT}$2y$05$2zI88Mm22uWsZR0Y9aWX9uP44mx6iFYvmseNHKWPD6uUdavyOnKYe   | secret",
        "{DES-CRYPT}eT7NDOUi.LfKY                                              | secret",
        "{DES-CRYPT}LQ63zOwao/EYk                                              | pässwörd",
        "eT7NDOUi.LfKY                                                         | secret",
        "{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$HbvtMIpE9geU5xHjN8RudA$+STomzwVE010+RQS73j15wOJTnuaYovLAlyipoKXAFY | secret",
        "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$hY9BjSOqkMqXnM3vV6porw$VTKSHJF4Fq+ESyoLBHS5H/qud8YjT6q6vTfC3CMbG0w | secret",
        "{PLAIN}secret                                                         | secret",
        "{PLAIN.B64}c2VjcmV0                                                   | secret",
        "{PLAIN.hex}736563726574                                               | secret",
        "{CLEARTEXT}pässwörd                                                   | pässwörd",
        "{PLAIN-TRUNC}6-secret                                                 | secret",
    })
    void knownVector(String stored, String password) {
        PasswordHash hash = PasswordSchemes.parse(stored, "user@realm");
        assertTrue(hash.matches(bytes(password)), stored);
        // a different first byte: DES reads 8 bytes, and PLAIN-TRUNC takes a longer password
        assertFalse(hash.matches(bytes("x" + password)), stored);
    }

    @Test
    void digestMd5HashesTheUserAndRealm() {
        String stored = "{DIGEST-MD5}fb6cb9e166c6c764ff2bdea12175a8aa"; // doveadm pw -u user@realm -p secret
        assertTrue(PasswordSchemes.parse(stored, "user@realm").matches(bytes("secret")));
        assertFalse(PasswordSchemes.parse(stored, "user@other").matches(bytes("secret")));
        assertThrows(IllegalArgumentException.class, () -> PasswordSchemes.parse(stored));
        assertEquals(stored.toUpperCase(), PasswordSchemes.hash("DIGEST-MD5", bytes("secret"), OptionalInt.empty(),
                Optional.of("user@realm")).toUpperCase());
    }

    @Test
    void plainTruncMatchesOnThePrefixWhenTheStoredPartIsCut() {
        PasswordHash hash = PasswordSchemes.parse("{PLAIN-TRUNC}3-sec");
        assertTrue(hash.matches(bytes("sec")));
        assertTrue(hash.matches(bytes("secret")));
        assertFalse(hash.matches(bytes("se")));
        assertFalse(hash.matches(bytes("sex")));
        PasswordHash whole = PasswordSchemes.parse("{PLAIN-TRUNC}8-sec");
        assertTrue(whole.matches(bytes("sec")));
        assertFalse(whole.matches(bytes("secret")), "not cut to its length: the whole password must match");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"{PLAIN-TRUNC}0-", "{PLAIN-TRUNC}000-", "{PLAIN-TRUNC}-", "{PLAIN-TRUNC}0-secret"})
    void plainTruncOfLengthZeroIsRefused(String stored) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PasswordSchemes.parse(stored));
        assertTrue(e.getMessage().contains("accepts any password"), e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"PLAIN-TRUNC", "plain-trunc", "PLAIN-TRUNC.B64", "PLAIN-TRUNC.HEX"})
    void plainTruncIsNeverMade(String scheme) {
        assertFalse(PasswordSchemes.hashable().contains(scheme.toUpperCase()));
        for (byte[] password : new byte[][] {bytes("secret"), new byte[0]}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> PasswordSchemes.hash(scheme, password, OptionalInt.empty()));
            assertTrue(e.getMessage().contains("{PLAIN-TRUNC}") && e.getMessage().contains("use PLAIN or a real hash"),
                    e.getMessage());
        }
    }

    /** /etc/shadow's locked accounts: read without error, and no password matches. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "!                                          | CRYPT",
        "*                                          | CRYPT",
        "!!                                         | CRYPT",
        "*LK*                                       | CRYPT",
        "!$1$C3HBaDbH$fqxd7TmqmuHgkSLtuCfJe.       | CRYPT",
        "!eT7NDOUi.LfKY                             | CRYPT",
        "*$2y$05$2zI88Mm22uWsZR0Y9aWX9uP44mx6iFYvmseNHKWPD6uUdavyOnKYe | CRYPT",
        "{CRYPT}!$1$C3HBaDbH$fqxd7TmqmuHgkSLtuCfJe. | CRYPT",
        "{crypt}*                                   | CRYPT",
        "{SHA512-CRYPT}!$6$1DShRLJAOOyRxFjb$3nyoIKjm/ZTC.OhIn6tB6gw35MmEcrTlVuEkwwjRvCcoWQKgTwnjSSjCBTVch2hJQYX/fGQjdDfdPdV9IkCP90 | SHA512-CRYPT",
        "{MD5-CRYPT}!!                              | MD5-CRYPT",
        "{DES-CRYPT}*                               | DES-CRYPT",
    })
    void lockedAccountsNeverMatch(String stored, String scheme) {
        PasswordHash hash = PasswordSchemes.parse(stored);
        assertEquals(scheme, hash.scheme());
        String data = stored.substring(stored.indexOf('}') + 1);
        for (String password : new String[] {"secret", "", "!", "*", data, data.substring(1), "x".repeat(100)}) {
            assertFalse(hash.matches(bytes(password)), stored + " with " + password);
        }
    }

    @Test
    void bcryptOnlyStillRefusesALockedEntry() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PasswordSchemes.parse("{BLF-CRYPT}!$2y$05$/9rb1.T6mp2y2l7EcqPOu.tstdPvi0KBNLN6m5P1KMxPgCLAmRs.C"));
        assertTrue(e.getMessage().contains("not a bcrypt hash"), e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "{FOO}bar                        | unknown password scheme \"{FOO}\"",
        "{SHA256.zip}abc                 | unknown password scheme \"{SHA256.ZIP}\"",
        "{SHA256}abc                     | {SHA256} data is 2 bytes, not 32",
        "{SHA}                           | {SHA} data is 0 bytes, not 20",
        "{PLAIN-MD5}zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz | {PLAIN-MD5} data is 24 bytes, not 16",
        "{SSHA}MKHF                      | {SSHA} data too short",
        "{PLAIN.HEX}xyz                  | {PLAIN.HEX} data is not hex",
        "{CRYPT}$y$jFT$F5Jx5fExrKuJdvXmWLKV70$xWwsfWr03/R5x5W0wDLBZBJiN3WLaaBNsgxyGnXB8U5 | yescrypt memory of 1024 MiB",
        "{CRYPT}$7$GU..../....abcdefgh$sWsarqbldvBJgryJJYHjYzc1J1T48nJOIdZfeQFpq2A | scrypt memory of 1024 MiB",
        "{CRYPT}$y$j9TFG$abcdefghijklmnop$dypbN0V2hlxjAQqNjTZ0ONR.9BanFD/ZOOwKsAvC703 | not a crypt(3) hash saslauth knows",
        "{CRYPT}$7$CU..../zzzzzabcdefgh$sWsarqbldvBJgryJJYHjYzc1J1T48nJOIdZfeQFpq2A | scrypt memory of over 1 TiB",
        "not-a-hash                      | not a crypt(3) hash",
        "{BLF-CRYPT}$1$C3HBaDbH$fqxd7TmqmuHgkSLtuCfJe. | not a bcrypt hash",
        "{ARGON2I}$argon2id$v=19$m=65536,t=3,p=1$hY9BjSOqkMqXnM3vV6porw$VTKSHJF4Fq+ESyoLBHS5H/qud8YjT6q6vTfC3CMbG0w | not a argon2i",
        "{PBKDF2}$1$salt$x$00            | {PBKDF2} data is not",
        "{SCRAM-SHA-1}100,AA==,AA==,AA== | 4096 or more iterations",
        "{PLAIN-TRUNC}secret             | <length>-<password>",
        "{MD5}nothing                    | neither MD5-CRYPT",
        "{SHA256                         | '{' without '}'",
        "{ARGON2ID}$argon2id$v=19$m=2000000000,t=3,p=1$hY9BjSOqkMqXnM3vV6porw$VTKSHJF4Fq+ESyoLBHS5H/qud8YjT6q6vTfC3CMbG0w | more than the",
    })
    void unusableEntriesAreClearErrors(String stored, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PasswordSchemes.parse(stored));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    static final String BCRYPT_TAIL = "$/9rb1.T6mp2y2l7EcqPOu.tstdPvi0KBNLN6m5P1KMxPgCLAmRs.C";
    static final String SHA512_TAIL = "$1DShRLJAOOyRxFjb$3nyoIKjm/ZTC.OhIn6tB6gw35MmEcrTlVuEkwwjRvCcoWQKgTwnjSSjCBTVch2hJQYX/fGQjdDfdPdV9IkCP90";
    static final String ARGON2_TAIL = ",p=1$hY9BjSOqkMqXnM3vV6porw$VTKSHJF4Fq+ESyoLBHS5H/qud8YjT6q6vTfC3CMbG0w";
    static final String SCRAM_TAIL = ",AA==,AAAAAAAAAAAAAAAAAAAAAAAAAAA=,AAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    /**
     * Issue 10, finding 8: an admin-set cost that no login could wait for ({@code $2y$31$}, huge
     * rounds or iterations, Argon2 passes) loaded and made every login of that user run far past
     * Postfix's 10 s. Each limit itself loads; one step over it is refused, naming the limit.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "{BLF-CRYPT}$2y$14          | {BLF-CRYPT}$2y$15          | bcrypt cost 15",
        "{CRYPT}$2b$14              | {CRYPT}$2y$31              | bcrypt cost 31",
        "{SHA512-CRYPT}$6$rounds=200000 | {SHA512-CRYPT}$6$rounds=200001 | rounds=200001",
        "$6$rounds=200000           | $6$rounds=999999999        | rounds=999999999",
        "{PBKDF2}$1$salt$1000000$   | {PBKDF2}$1$salt$1000001$   | 1000001 rounds",
        "{SCRAM-SHA-1}1000000       | {SCRAM-SHA-1}2000000000    | 2000000000 iterations",
        "{ARGON2ID}$argon2id$v=19$m=65536,t=6 | {ARGON2ID}$argon2id$v=19$m=65536,t=7 | m=65536,t=7",
        "{ARGON2I}$argon2i$v=19$m=8192,t=48 | {ARGON2I}$argon2i$v=19$m=8192,t=100 | m=8192,t=100",
    })
    void costsNoLoginCouldWaitForAreRefused(String limit, String over, String named) {
        PasswordSchemes.parse(withTail(limit));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PasswordSchemes.parse(withTail(over)));
        assertTrue(e.getMessage().contains(named) && e.getMessage().contains("Postfix waits at most 10 s"),
                e.getMessage());
    }

    private static String withTail(String head) {
        if (head.contains("$2")) {
            return head + BCRYPT_TAIL;
        }
        if (head.contains("$6$")) {
            return head + SHA512_TAIL;
        }
        if (head.contains("argon2")) {
            return head + ARGON2_TAIL;
        }
        if (head.contains("PBKDF2")) {
            return head + "aaf05aa436a35366d29acd9f8c9a2ea45ca4015b";
        }
        return head + SCRAM_TAIL;
    }

    /** Issue 10, finding 8: the refusal said "needs 93 MiB ... heap allows (95 MiB)". */
    @Test
    void argon2HeapRefusalNamesANeedAboveTheAllowance() {
        long allowedKiB = Runtime.getRuntime().maxMemory() / 4 * 3 / 1024;
        long m = allowedKiB * 1024 / 1040; // fits the heap at 1 KiB a block, not at 1056 bytes
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PasswordSchemes.parse("{ARGON2ID}$argon2id$v=19$m=" + m + ",t=1" + ARGON2_TAIL));
        java.util.regex.Matcher figures = java.util.regex.Pattern
                .compile("needs (\\d+) MiB of heap, more than the (\\d+) MiB").matcher(e.getMessage());
        assertTrue(figures.find(), e.getMessage());
        assertTrue(Long.parseLong(figures.group(1)) > Long.parseLong(figures.group(2)), e.getMessage());
    }

    @Test
    void errorsNeverRepeatTheData() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PasswordSchemes.parse("{SHA256}topsecretvalue"));
        assertFalse(e.getMessage().contains("topsecretvalue"), e.getMessage());
    }

    @Test
    void schemeNamesComeBackUpperCaseWithoutSuffix() {
        assertEquals("SSHA", PasswordSchemes.parse("{ssha.b64}/2ymKFZg85s120vSPWjgnT+Ntkl5MB60").scheme());
        assertEquals("CRYPT", PasswordSchemes.parse("eT7NDOUi.LfKY").scheme());
        assertEquals("MD5-CRYPT", PasswordSchemes.parse("{MD5-CRYPT}$1$C3HBaDbH$fqxd7TmqmuHgkSLtuCfJe.").scheme());
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
        "SHA512-CRYPT, 999", "SHA256-CRYPT, 1000000000", "BLF-CRYPT, 3", "BLF-CRYPT, 32", "PBKDF2, 0",
        "SCRAM-SHA-1, 4095", "ARGON2I, 2", "ARGON2ID, 0",
        "SHA512-CRYPT, 200001", "BLF-CRYPT, 15", "PBKDF2, 1000001", "SCRAM-SHA-256, 1000001", "ARGON2ID, 7",
        "ARGON2I, 13",
    })
    void roundsOutOfRangeAreRefused(String scheme, int rounds) {
        assertThrows(IllegalArgumentException.class,
                () -> PasswordSchemes.hash(scheme, bytes("secret"), OptionalInt.of(rounds)));
    }

    @Test
    void hashRefusesWhatItCannotMakeOrWrite() {
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> PasswordSchemes.hash("OTP", bytes("x"), OptionalInt.empty()));
        assertTrue(unknown.getMessage().contains("SHA512-CRYPT"), unknown.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> PasswordSchemes.hash("DIGEST-MD5", bytes("x"), OptionalInt.empty()));
        IllegalArgumentException colon = assertThrows(IllegalArgumentException.class,
                () -> PasswordSchemes.hash("PLAIN", bytes("a:b"), OptionalInt.empty()));
        assertTrue(colon.getMessage().contains("{PLAIN.B64}"), colon.getMessage());
        assertEquals("{PLAIN.B64}YTpi", PasswordSchemes.hash("plain.b64", bytes("a:b"), OptionalInt.empty()));
    }

    @Test
    void everyHashableSchemeRoundTrips() {
        for (String scheme : PasswordSchemes.hashable()) {
            String hash = PasswordSchemes.hash(scheme, bytes("pässwörd"), OptionalInt.empty(), Optional.of("u@r"));
            PasswordHash parsed = PasswordSchemes.parse(hash, "u@r");
            assertTrue(parsed.matches(bytes("pässwörd")), hash);
            assertFalse(parsed.matches(bytes("passwörd")), hash);
        }
    }

    @Test
    void defaultIsSha512Crypt() {
        assertTrue(PasswordSchemes.hash(PasswordSchemes.DEFAULT, bytes("x"), OptionalInt.empty())
                .startsWith("{SHA512-CRYPT}$6$"));
    }
}
