package org.saslauth.mech;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.saslauth.Deadline;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.UserNameFormat;

/**
 * OAUTHBEARER's and XOAUTH2's messages as clients write them, and the JSON error then FAIL of
 * RFC 7628, with an issuer that knows one token ({@code good}, alice's). The token checks
 * themselves run against a real OpenID provider in {@code OAuthIT}.
 */
class BearerTokenMechanismTest {

    final List<String> asked = new ArrayList<>();

    final Tokens issuer = new Tokens() {
        @Override
        public Verdict check(String token, Deadline deadline) {
            asked.add(token);
            return switch (token) {
                case "good" -> new Verdict.Valid("Alice@Example.org");
                case "down" -> new Verdict.Unavailable("connection refused");
                case "narrow" -> new Verdict.Invalid("scope mail not granted", true);
                default -> new Verdict.Invalid("bad signature");
            };
        }

        @Override
        public Optional<String> scope() {
            return Optional.of("mail");
        }

        @Override
        public Optional<String> configuration() {
            return Optional.of("https://id.example.org/.well-known/openid-configuration");
        }
    };

    final Credentials credentials = new Credentials(CredentialStore.NONE, new UserNameFormat(true, Optional.empty()))
            .withTokens(issuer);

    static Mechanism mech(String name) {
        return Mechanisms.parse(name).enabled().get(0);
    }

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    String run(String mechanism, String message) {
        message = message.replace("^A", "\u0001");
        Exchange e = mech(mechanism).newExchange(credentials);
        Step s = e.start(Optional.of(b(message)), Deadline.NONE);
        if (s instanceof Step.Challenge c) {
            String json = new String(c.data(), StandardCharsets.UTF_8);
            Step last = e.next(mechanism.equals("OAUTHBEARER") ? new byte[] {1} : new byte[0], Deadline.NONE);
            Step.Failure f = assertInstanceOf(Step.Failure.class, last);
            return json + " | " + f.reason() + f.user().map(u -> " " + u).orElse("");
        }
        if (s instanceof Step.Success ok) {
            return "OK " + ok.user();
        }
        return "FAIL " + ((Step.Failure) s).reason();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = " => ", value = {
        // RFC 7628 section 4.1's example, host and port before auth
        "n,a=user@example.com,^Ahost=server.example.com^Aport=143^Aauth=Bearer good^A^A => OK alice@example.org",
        "n,a=alice@example.org,^Aauth=Bearer good^A^A => OK alice@example.org",
        "n,,^Aauth=Bearer good^A^A => OK alice@example.org",
        "y,,^Aauth=bearer good^A^A => OK alice@example.org",
        // the authzid's escapes (RFC 5801): =2C is a comma
        "'n,a=ali=2Cce,^Aauth=Bearer good^A^A' => {\"status\":\"invalid_token\",\"scope\":\"mail\",\"openid-configuration\":\"https://id.example.org/.well-known/openid-configuration\"} | AUTHZID_REFUSED ali,ce",
        "'n,a=ali=2ce,^Aauth=Bearer good^A^A' => {\"status\":\"invalid_request\",\"scope\":\"mail\",\"openid-configuration\":\"https://id.example.org/.well-known/openid-configuration\"} | MALFORMED",
        "n,a=bob,^Aauth=Bearer good^A^A => {\"status\":\"invalid_token\",\"scope\":\"mail\",\"openid-configuration\":\"https://id.example.org/.well-known/openid-configuration\"} | AUTHZID_REFUSED bob",
        "n,a=alice,^Aauth=Bearer forged^A^A => {\"status\":\"invalid_token\",\"scope\":\"mail\",\"openid-configuration\":\"https://id.example.org/.well-known/openid-configuration\"} | INVALID_TOKEN alice",
        "n,a=alice,^Aauth=Bearer narrow^A^A => {\"status\":\"insufficient_scope\",\"scope\":\"mail\",\"openid-configuration\":\"https://id.example.org/.well-known/openid-configuration\"} | INVALID_TOKEN alice",
        "n,a=alice,^Aauth=Bearer down^A^A => {\"status\":\"internal_failure\",\"scope\":\"mail\",\"openid-configuration\":\"https://id.example.org/.well-known/openid-configuration\"} | UNAVAILABLE alice",
        "'p=tls-unique,,^Aauth=Bearer good^A^A' => {\"status\":\"invalid_request\",\"scope\":\"mail\",\"openid-configuration\":\"https://id.example.org/.well-known/openid-configuration\"} | MALFORMED",
        "n,a=alice,^Aauth=Bearer good^A => {\"status\":\"invalid_request\",\"scope\":\"mail\",\"openid-configuration\":\"https://id.example.org/.well-known/openid-configuration\"} | MALFORMED",
        "n,a=alice,^Aauth=Bearer a b^A^A => {\"status\":\"invalid_request\",\"scope\":\"mail\",\"openid-configuration\":\"https://id.example.org/.well-known/openid-configuration\"} | MALFORMED",
        "n,a=alice,^Aauth=Basic Zm9v^A^A => {\"status\":\"invalid_request\",\"scope\":\"mail\",\"openid-configuration\":\"https://id.example.org/.well-known/openid-configuration\"} | MALFORMED",
        "n,a=alice,^Ahost=x^A^A => {\"status\":\"invalid_request\",\"scope\":\"mail\",\"openid-configuration\":\"https://id.example.org/.well-known/openid-configuration\"} | MALFORMED",
        "garbage => {\"status\":\"invalid_request\",\"scope\":\"mail\",\"openid-configuration\":\"https://id.example.org/.well-known/openid-configuration\"} | MALFORMED",
    })
    void oauthBearer(String message, String expected) {
        assertEquals(expected.replace("user@example.com", "alice@example.org"), run("OAUTHBEARER",
                message.replace("user@example.com", "alice@example.org")));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = " => ", value = {
        // Google's example, its user= and auth= fields
        "user=alice@example.org^Aauth=Bearer good^A^A => OK alice@example.org",
        "user=ALICE@example.org^Aauth=Bearer good^A^A => OK alice@example.org",
        "user=bob@example.org^Aauth=Bearer good^A^A => {\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":\"mail\"} | AUTHZID_REFUSED bob@example.org",
        "user=alice@example.org^Aauth=Bearer forged^A^A => {\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":\"mail\"} | INVALID_TOKEN alice@example.org",
        "user=alice@example.org^Aauth=Bearer down^A^A => {\"status\":\"500\",\"schemes\":\"bearer\",\"scope\":\"mail\"} | UNAVAILABLE alice@example.org",
        "auth=Bearer good^A^A => {\"status\":\"400\",\"schemes\":\"bearer\",\"scope\":\"mail\"} | MALFORMED",
        "user=alice@example.org^A^A => {\"status\":\"400\",\"schemes\":\"bearer\",\"scope\":\"mail\"} | MALFORMED",
        "user=^Aauth=Bearer good^A^A => {\"status\":\"400\",\"schemes\":\"bearer\",\"scope\":\"mail\"} | INVALID_USER_NAME",
    })
    void xoauth2(String message, String expected) {
        assertEquals(expected, run("XOAUTH2", message));
    }

    @Test
    void aMalformedMessageNeverReachesTheIssuer() {
        run("OAUTHBEARER", "n,a=alice,\u0001auth=Bearer a b\u0001\u0001");
        run("XOAUTH2", "auth=Bearer good\u0001\u0001");
        assertEquals(List.of(), asked);
    }

    @Test
    void withoutAnInitialResponseTheClientIsAskedForTheMessage() {
        Exchange e = mech("OAUTHBEARER").newExchange(credentials);
        Step s = e.start(Optional.empty(), Deadline.NONE);
        assertEquals(0, assertInstanceOf(Step.Challenge.class, s).data().length);
        Step ok = e.next(b("n,,\u0001auth=Bearer good\u0001\u0001"), Deadline.NONE);
        assertEquals("alice@example.org", assertInstanceOf(Step.Success.class, ok).user());
    }

    @Test
    void withoutAnIssuerEveryTokenIsATemporaryFailure() {
        Credentials none = new Credentials(CredentialStore.NONE, UserNameFormat.AS_IS);
        Exchange e = mech("XOAUTH2").newExchange(none);
        Step s = e.start(Optional.of(b("user=alice\u0001auth=Bearer good\u0001\u0001")), Deadline.NONE);
        assertInstanceOf(Step.Challenge.class, s);
        Step.Failure f = assertInstanceOf(Step.Failure.class, e.next(new byte[0], Deadline.NONE));
        assertTrue(f.reason().temporary(), f.toString());
    }

    @Test
    void announcedAsDovecotDoes() {
        assertEquals(java.util.Set.of(Mechanism.Flag.PLAINTEXT), mech("OAUTHBEARER").flags());
        assertEquals(java.util.Set.of(Mechanism.Flag.PLAINTEXT), mech("XOAUTH2").flags());
    }
}
