package org.saslauth.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.saslauth.Deadline;
import org.saslauth.mech.Credentials;
import org.saslauth.store.CredentialStore.Verdict;

/** {@code --username-format} and {@code --default-realm}, and how Credentials applies them. */
class UserNameFormatTest {

    @ParameterizedTest(name = "{0} lowercase={1} realm={2}")
    @CsvSource(delimiter = '|', nullValues = "-", value = {
        "Alice             | false | -           | Alice",
        "Alice             | true  | -           | alice",
        "Alice             | false | example.org | Alice@example.org",
        "Alice             | true  | Example.ORG | alice@example.org",
        "Alice@Other.net   | false | example.org | Alice@Other.net",
        "Alice@Other.net   | true  | example.org | alice@other.net",
        "ÅSA               | true  | -           | Åsa",
        "\u212Aim          | true  | -           | \u212Aim",
        "\u0130lker        | true  | -           | \u0130lker",
        "Ünal@Example.ORG  | true  | -           | Ünal@example.org",
        "Alice             | false | ''          | Alice",
    })
    void appliesRealmThenCase(String sent, boolean lowercase, String realm, String expected) {
        assertEquals(expected, new UserNameFormat(lowercase, Optional.ofNullable(realm)).apply(sent));
    }

    @Test
    void asIsChangesNothing() {
        assertEquals("Bob@X", UserNameFormat.AS_IS.apply("Bob@X"));
    }

    @Test
    void credentialsLookUpTheFormattedName() {
        CredentialStore store = (user, password, slots, deadline) ->
                user.equals("bob@example.org") ? Verdict.ACCEPTED : Verdict.UNKNOWN_USER;
        Credentials credentials = new Credentials(store, new UserNameFormat(true, Optional.of("example.org")));
        String name = credentials.canonical("BOB".getBytes(StandardCharsets.UTF_8)).orElseThrow();
        assertEquals("bob@example.org", name);
        assertEquals(Verdict.ACCEPTED, credentials.verify(name, "pw".getBytes(StandardCharsets.UTF_8), Deadline.NONE));
    }

    @ParameterizedTest(name = "[{index}]")
    @CsvSource({"''", "'a\tb'", "'a\nb'", "'a\u0001b'", "'a\u007fb'"})
    void namesNoLineCanHoldAreRefused(String raw) {
        Credentials credentials = new Credentials(CredentialStore.NONE, UserNameFormat.AS_IS);
        assertEquals(Optional.empty(), credentials.canonical(raw.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Issue 10, finding 8: the Kelvin sign lowercased to an ASCII {@code k} under Java's full
     * case mapping, so that "\u212Aim" logged in as "kim"; Dovecot's {@code %Lu} maps ASCII only.
     */
    @Test
    void lowercaseMapsAsciiOnlyLikeDovecot() {
        CredentialStore store = (user, password, slots, deadline) -> user.equals("kim") ? Verdict.ACCEPTED : Verdict.UNKNOWN_USER;
        Credentials credentials = new Credentials(store, new UserNameFormat(true, Optional.empty()));
        assertEquals("kim", credentials.canonical("KIM".getBytes(StandardCharsets.UTF_8)).orElseThrow());
        String kelvin = credentials.canonical("\u212Aim".getBytes(StandardCharsets.UTF_8)).orElseThrow();
        assertEquals("\u212Aim", kelvin);
        assertEquals(Verdict.UNKNOWN_USER, credentials.verify(kelvin, "pw".getBytes(StandardCharsets.UTF_8), Deadline.NONE));
    }

    /**
     * Issue 10, finding 8: format characters (category Cf) passed into replies and the log; a
     * right-to-left override makes "alice\u202Egro.elpmaxe" display as another name.
     */
    @ParameterizedTest(name = "U+{0}")
    @CsvSource({"202E", "202D", "202A", "2066", "2069", "200E", "200F", "061C", "200B", "200D", "FEFF", "00AD",
        "E0001"})
    void formatAndBidiCharactersAreRefused(String hex) {
        Credentials credentials = new Credentials(CredentialStore.NONE, UserNameFormat.AS_IS);
        String name = "alice" + Character.toString(Integer.parseInt(hex, 16)) + "x";
        assertEquals(Optional.empty(), credentials.canonical(name.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void otherNonAsciiNamesStillPass() {
        Credentials credentials = new Credentials(CredentialStore.NONE, UserNameFormat.AS_IS);
        for (String name : new String[] {"émile", "δοκιμή", "用户", "user\uD83D\uDE00", "Ωmega"}) {
            assertEquals(Optional.of(name), credentials.canonical(name.getBytes(StandardCharsets.UTF_8)));
        }
    }

    @Test
    void notUtf8AndTooLongAreRefused() {
        Credentials credentials = new Credentials(CredentialStore.NONE, UserNameFormat.AS_IS);
        assertEquals(Optional.empty(), credentials.canonical(new byte[] {(byte) 0xc3, 0x28}));
        assertEquals(Optional.empty(), credentials.canonical("a".repeat(256).getBytes(StandardCharsets.UTF_8)));
        assertEquals(Optional.of("a".repeat(255)),
                credentials.canonical("a".repeat(255).getBytes(StandardCharsets.UTF_8)));
    }
}
