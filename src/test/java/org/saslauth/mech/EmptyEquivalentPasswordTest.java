package org.saslauth.mech;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.saslauth.Deadline;
import org.saslauth.password.PasswordHash;
import org.saslauth.password.PasswordSchemes;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.CredentialStore.Verdict;
import org.saslauth.store.UserNameFormat;

/**
 * Issue 10, finding 1: passwords that a stored scheme hashes like another one. bcrypt and DES
 * stop at a NUL, DES keeps 7 bits of each byte ({@code \x80} is a NUL to it), and the HMAC-based
 * schemes pad their key with zeros, so that a hash of the empty password also matched
 * {@code "\0"} and {@code "\x80"}, and a hash of {@code "secret"} matched {@code "secret\0"}.
 */
class EmptyEquivalentPasswordTest {

    /** A store holding one user, alice, with {@code field} as the passwd file would. */
    static Credentials storing(String field) {
        PasswordHash hash = PasswordSchemes.parse(field, "alice");
        CredentialStore store = (user, password, slots, deadline) -> !user.equals("alice") ? Verdict.UNKNOWN_USER
                : hash.matches(password) ? Verdict.ACCEPTED : Verdict.WRONG_PASSWORD;
        return new Credentials(store, UserNameFormat.AS_IS);
    }

    static String viaLogin(Credentials credentials, byte[] password) {
        Exchange ex = new LoginMechanism().newExchange(credentials);
        ex.start(Optional.empty(), Deadline.NONE);
        ex.next("alice".getBytes(StandardCharsets.US_ASCII), Deadline.NONE);
        return MechanismTest.describe(ex.next(password.clone(), Deadline.NONE));
    }

    static String viaPlain(Credentials credentials, byte[] password) {
        byte[] head = "\0alice\0".getBytes(StandardCharsets.US_ASCII);
        byte[] message = new byte[head.length + password.length];
        System.arraycopy(head, 0, message, 0, head.length);
        System.arraycopy(password, 0, message, head.length, password.length);
        return MechanismTest.describe(new PlainMechanism().newExchange(credentials).start(Optional.of(message), Deadline.NONE));
    }

    /** Candidates in hex: NUL, two NULs, {@code \x80}, two of them, eight of them and more. */
    static final String[] EMPTY_LOOKALIKES = {"00", "0000", "80", "8080", "80808080808080807878"};

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"BLF-CRYPT", "CRYPT", "DES-CRYPT", "PBKDF2", "SCRAM-SHA-1", "SCRAM-SHA-256",
        "CRAM-MD5", "SHA512-CRYPT", "MD5-CRYPT", "SSHA256", "PLAIN"})
    void nothingLogsInAgainstAHashOfTheEmptyPassword(String scheme) {
        Credentials credentials = storing(PasswordSchemes.hash(scheme, new byte[0], OptionalInt.empty()));
        for (String hex : EMPTY_LOOKALIKES) {
            byte[] candidate = HexFormat.of().parseHex(hex);
            assertEquals("FAIL", viaLogin(credentials, candidate).substring(0, 4), scheme + " LOGIN " + hex);
            if (!hex.contains("00")) { // PLAIN cannot carry a NUL in the password
                assertEquals("FAIL", viaPlain(credentials, candidate).substring(0, 4), scheme + " PLAIN " + hex);
            }
            assertEquals(false, credentials.verify("alice", candidate, Deadline.NONE) == Verdict.ACCEPTED, scheme + " " + hex);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"PBKDF2", "SCRAM-SHA-1", "SCRAM-SHA-256", "CRAM-MD5", "BLF-CRYPT", "SHA512-CRYPT",
        "PLAIN"})
    void aTrailingNulIsRefusedWithItsReason(String scheme) {
        Credentials credentials = storing(PasswordSchemes.hash(scheme,
                "secret".getBytes(StandardCharsets.US_ASCII), OptionalInt.empty()));
        assertEquals("OK alice", viaLogin(credentials, "secret".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("FAIL PASSWORD_HAS_NUL", viaLogin(credentials, "secret\0".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("FAIL PASSWORD_HAS_NUL", viaLogin(credentials, "secret\0\0".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("FAIL PASSWORD_HAS_NUL", viaLogin(credentials, "\0secret".getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void theRefusalIsItsOwnReasonAndCountsAsAGuess() {
        Credentials credentials = storing("{PLAIN}secret");
        Exchange ex = new LoginMechanism().newExchange(credentials);
        ex.start(Optional.of("alice".getBytes(StandardCharsets.US_ASCII)), Deadline.NONE);
        Step.Failure f = assertInstanceOf(Step.Failure.class, ex.next("sec\0ret".getBytes(StandardCharsets.US_ASCII), Deadline.NONE));
        assertEquals(Step.Reason.PASSWORD_HAS_NUL, f.reason());
        assertEquals("Authentication failed", f.reason().clientText(), "the client learns nothing more");
        assertEquals(Optional.of("alice"), f.user());
        assertEquals(true, f.guess().isPresent(), "the penalty sees it as a guess");
    }

    /**
     * DES keeps 7 bits of each of the first 8 bytes: a password whose key is all zero bits hashes
     * like the empty one, and is refused; other non-ASCII passwords check as Dovecot's crypt(3)
     * does, so that DES hashes made of them keep working.
     */
    @Test
    void desRefusesOnlyWhatHashesLikeTheEmptyPassword() {
        Credentials credentials = storing("{DES-CRYPT}" + desOfEmpty());
        assertEquals("FAIL WRONG_PASSWORD", viaPlain(credentials, HexFormat.of().parseHex("80")));
        Credentials umlauts = storing("{DES-CRYPT}LQ63zOwao/EYk"); // doveadm pw -s DES-CRYPT, "pässwörd"
        assertEquals("OK alice", viaPlain(umlauts, "pässwörd".getBytes(StandardCharsets.UTF_8)));
    }

    private static String desOfEmpty() {
        String field = PasswordSchemes.hash("DES-CRYPT", new byte[0], OptionalInt.empty());
        return field.substring("{DES-CRYPT}".length());
    }

    @Test
    void overLongPasswordsAreRefusedBeforeAnyHash() {
        Credentials credentials = storing("{PLAIN}" + "x".repeat(Credentials.MAX_PASSWORD_BYTES + 1));
        byte[] longest = "x".repeat(Credentials.MAX_PASSWORD_BYTES).getBytes(StandardCharsets.US_ASCII);
        byte[] over = "x".repeat(Credentials.MAX_PASSWORD_BYTES + 1).getBytes(StandardCharsets.US_ASCII);
        assertEquals("FAIL WRONG_PASSWORD", viaPlain(credentials, longest));
        assertEquals("FAIL PASSWORD_TOO_LONG", viaPlain(credentials, over));
        assertEquals(Verdict.WRONG_PASSWORD, credentials.verify("alice", over, Deadline.NONE));
    }
}
