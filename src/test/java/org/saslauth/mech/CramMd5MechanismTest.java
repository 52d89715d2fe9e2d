package org.saslauth.mech;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.saslauth.Deadline;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.UserNameFormat;

/** CRAM-MD5 from RFC 2195's example, against every kind of entry and broken answer. */
class CramMd5MechanismTest {

    /** RFC 2195, section 2. */
    static final String CHALLENGE = "<1896.697170952@postoffice.reston.mci.net>";
    static final String DIGEST = "b913a602c7eda7a495b4e6e7334d3890";

    static final EntryStore STORE = new EntryStore()
            .with("tim", "{PLAIN}tanstaaftanstaaf")
            // made by doveadm pw -s CRAM-MD5 -p tanstaaftanstaaf
            .with("tim-cram", "{CRAM-MD5}d06d4e1b26fccaa4b0b61801132340a354b21152711fb604ca3e035e7015116b")
            .with("tim-b64", "{PLAIN.b64}dGFuc3RhYWZ0YW5zdGFhZg==")
            .with("tim smith", "{CLEAR}tanstaaftanstaaf")
            .with("tim-crypt", "{SHA512-CRYPT}$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/")
            .with("blank", "{PLAIN}")
            .with("émile", "{PLAIN}pässwörd");

    final Credentials credentials = new Credentials(STORE, UserNameFormat.AS_IS);

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String hmac(String password, String challenge) throws Exception {
        byte[] key = bytes(password);
        Mac mac = Mac.getInstance("HmacMD5");
        mac.init(new SecretKeySpec(key.length == 0 ? new byte[1] : key, "HmacMD5"));
        // an empty key is 64 zero bytes in HMAC, the same as one zero byte
        return HexFormat.of().formatHex(mac.doFinal(bytes(challenge)));
    }

    static String outcome(Step step) {
        if (step instanceof Step.Failure f) {
            return "FAIL " + f.reason();
        }
        return MechanismTest.describe(step);
    }

    Step answer(String response) {
        Exchange ex = new CramMd5Mechanism(() -> bytes(CHALLENGE)).newExchange(credentials);
        assertEquals("CONT " + CHALLENGE, MechanismTest.describe(ex.start(Optional.empty(), Deadline.NONE)));
        return ex.next(bytes(response), Deadline.NONE);
    }

    @ParameterizedTest(name = "[{0}] -> {1}")
    @CsvSource(delimiter = '|', value = {
        "tim " + DIGEST + "             | OK tim",
        "tim-cram " + DIGEST + "        | OK tim-cram",
        "tim-b64 " + DIGEST + "         | OK tim-b64",
        "tim smith " + DIGEST + "       | OK tim smith",
        "tim B913A602C7EDA7A495B4E6E7334D3890 | OK tim",
        "tim b913a602c7eda7a495b4e6e7334d3891 | FAIL WRONG_PASSWORD",
        "tom " + DIGEST + "             | FAIL UNKNOWN_USER",
        "tim-crypt " + DIGEST + "       | FAIL UNSUITABLE_ENTRY",
        "' " + DIGEST + "'              | FAIL INVALID_USER_NAME",
        "tim" + DIGEST + "              | FAIL MALFORMED",
        "tim b913a602c7eda7a495b4e6e7334d389 | FAIL MALFORMED",
        "tim b913a602c7eda7a495b4e6e7334d3890 | OK tim",
        "tim b913a602c7eda7a495b4e6e7334d38901 | FAIL MALFORMED",
        "tim b913a602c7eda7a495b4e6e7334d389g | FAIL MALFORMED",
        "''                             | FAIL MALFORMED",
    })
    void rfc2195Example(String response, String expected) {
        assertEquals(expected, outcome(answer(response)));
    }

    @Test
    void theLogNamesTheSchemeThatCannotServe() {
        Step.Failure f = assertInstanceOf(Step.Failure.class, answer("tim-crypt " + DIGEST));
        assertTrue(f.logText().contains("{SHA512-CRYPT}"), f.logText());
        assertEquals("Authentication failed", f.reason().clientText());
        assertEquals(f.reason().clientText(), Step.Reason.WRONG_PASSWORD.clientText());
    }

    @Test
    void nonAsciiNameAndPassword() throws Exception {
        assertEquals("OK émile", outcome(answer("émile " + hmac("pässwörd", CHALLENGE))));
        assertEquals("FAIL WRONG_PASSWORD", outcome(answer("émile " + hmac("passwort", CHALLENGE))));
    }

    @Test
    void theEmptyStoredPasswordNeverLogsIn() throws Exception {
        assertEquals("FAIL WRONG_PASSWORD", outcome(answer("blank " + hmac("", CHALLENGE))));
    }

    @Test
    void theChallengeIsFreshAndShapedLikeDovecots() {
        CramMd5Mechanism m = new CramMd5Mechanism();
        String a = MechanismTest.describe(m.newExchange(credentials).start(Optional.empty(), Deadline.NONE));
        String b = MechanismTest.describe(m.newExchange(credentials).start(Optional.empty(), Deadline.NONE));
        assertTrue(a.matches("CONT <[0-9]+\\.[0-9]+@[A-Za-z0-9.-]+>"), a);
        assertNotEquals(a, b);
    }

    @Test
    void aRealChallengeIsAnsweredWithTheKeyOfEachEntry() throws Exception {
        for (String user : new String[] {"tim", "tim-cram"}) {
            Exchange ex = new CramMd5Mechanism().newExchange(credentials);
            String challenge = MechanismTest.describe(ex.start(Optional.empty(), Deadline.NONE)).substring(5);
            assertEquals("OK " + user, outcome(ex.next(bytes(user + " " + hmac("tanstaaftanstaaf", challenge)), Deadline.NONE)));
        }
    }

    @Test
    void anInitialResponseOrASecondAnswerFails() {
        Exchange ex = new CramMd5Mechanism(() -> bytes(CHALLENGE)).newExchange(credentials);
        assertEquals("FAIL MALFORMED", outcome(ex.start(Optional.of(bytes("tim " + DIGEST)), Deadline.NONE)));
        Exchange empty = new CramMd5Mechanism(() -> bytes(CHALLENGE)).newExchange(credentials);
        assertEquals("CONT " + CHALLENGE, MechanismTest.describe(empty.start(Optional.of(new byte[0]), Deadline.NONE)));
        assertEquals("OK tim", outcome(empty.next(bytes("tim " + DIGEST), Deadline.NONE)));
        assertEquals("FAIL MALFORMED", outcome(empty.next(bytes("tim " + DIGEST), Deadline.NONE)));
    }

    @Test
    void storesThatCannotAnswerFailAsTheySay() {
        Credentials down = new Credentials(EntryStore.DOWN, UserNameFormat.AS_IS);
        Exchange ex = new CramMd5Mechanism(() -> bytes(CHALLENGE)).newExchange(down);
        ex.start(Optional.empty(), Deadline.NONE);
        Step.Failure f = assertInstanceOf(Step.Failure.class, ex.next(bytes("tim " + DIGEST), Deadline.NONE));
        assertTrue(f.reason().temporary());

        Credentials checkOnly = new Credentials((u, p, slots, deadline) -> CredentialStore.Verdict.ACCEPTED, UserNameFormat.AS_IS);
        Exchange ex2 = new CramMd5Mechanism(() -> bytes(CHALLENGE)).newExchange(checkOnly);
        ex2.start(Optional.empty(), Deadline.NONE);
        assertEquals("FAIL UNSUITABLE_ENTRY", outcome(ex2.next(bytes("tim " + DIGEST), Deadline.NONE)));
    }
}
