package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.saslauth.servers.OidcProvider;

/**
 * OAUTHBEARER and XOAUTH2 against a real OpenID provider ({@link OidcProvider}, oidc-provider)
 * started here: good tokens of every signing algorithm by both mechanisms, and every way a token
 * goes wrong (expired, another audience, another issuer, another key, {@code alg=none}, HS256
 * with the issuer's public key as the secret, another user's, garbage), the keys rotated while a
 * helper runs, the issuer stopped, opaque tokens by introspection, the daemon; each through the
 * packaged jar as a spawned helper is run (stdin and stdout the protocol).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class OAuthIT {

    static OidcProvider idp;
    static OidcProvider otherIdp;
    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws IOException {
        OidcProvider.require();
        idp = OidcProvider.start();
    }

    @AfterAll
    static void stop() {
        if (idp != null) {
            idp.close();
        }
        if (otherIdp != null) {
            otherIdp.close();
        }
    }

    /** A helper on the packaged jar, spoken to on its stdin and stdout, as spawn(8) runs it. */
    static final class Helper implements AutoCloseable {
        final Process process;
        final BufferedReader out;
        final OutputStream in;
        final Path log;
        int id = 40;

        Helper(Path log, String... args) throws IOException {
            this.log = log;
            List<String> cmd = new ArrayList<>(List.of("java", "-jar", Path.of("target/saslauth.jar").toAbsolutePath().toString(),
                    "--failure-delay", "0", "--log-file", log.toString(), "--log-level", "debug",
                    // the addresses of these logins: no delay, ban or protection in the way of the cases
                    "--auth-penalty", "false", "--penalty-exempt", "192.0.2.0/24"));
            cmd.addAll(List.of(args));
            process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.appendTo(log.resolveSibling(
                    log.getFileName() + ".stderr").toFile())).start();
            out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            in = process.getOutputStream();
            send("VERSION\t1\t2\nCPID\t4242\n");
            List<String> handshake = new ArrayList<>();
            for (String l = out.readLine(); l != null && !l.equals("DONE"); l = out.readLine()) {
                handshake.add(l);
            }
            this.handshake = handshake;
        }

        final List<String> handshake;

        void send(String text) throws IOException {
            in.write(text.getBytes(StandardCharsets.UTF_8));
            in.flush();
        }

        /**
         * One login: the reply, and for a refused token the JSON error (decoded) then the FAIL,
         * joined by " | ".
         */
        String login(String mechanism, byte[] message) throws IOException {
            int n = ++id;
            send("AUTH\t" + n + "\t" + mechanism + "\tservice=smtp\trip=192.0.2." + (n % 200) + "\tresp="
                    + Base64.getEncoder().encodeToString(message) + "\n");
            String reply = out.readLine();
            if (reply != null && reply.startsWith("CONT\t")) {
                String json = new String(Base64.getDecoder().decode(reply.split("\t")[2]), StandardCharsets.UTF_8);
                send("CONT\t" + n + "\t" + (mechanism.equals("OAUTHBEARER") ? "AQ==" : "") + "\n");
                return json + " | " + out.readLine();
            }
            return reply;
        }

        String log() throws IOException {
            return Files.exists(log) ? Files.readString(log) : "";
        }

        /** Whether the log comes to hold {@code text} within 5 s: a line may follow its reply. */
        boolean logs(String text) throws IOException, InterruptedException {
            for (int i = 0; i < 100; i++) {
                if (log().contains(text)) {
                    return true;
                }
                Thread.sleep(50);
            }
            return false;
        }

        @Override
        public void close() throws IOException {
            in.close();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    static byte[] bearer(String authzid, String token) {
        return ("n," + (authzid == null ? "" : "a=" + authzid) + ",\u0001host=mail.example.org\u0001port=587\u0001auth=Bearer "
                + token + "\u0001\u0001").getBytes(StandardCharsets.UTF_8);
    }

    static byte[] xoauth2(String user, String token) {
        return ("user=" + user + "\u0001auth=Bearer " + token + "\u0001\u0001").getBytes(StandardCharsets.UTF_8);
    }

    private static String[] issuerArgs(String... more) {
        List<String> a = new ArrayList<>(List.of("--mechanisms", "OAUTHBEARER,XOAUTH2", "--oauth2-issuer", idp.issuer,
                "--oauth2-audience", "urn:saslauth:mail", "--oauth2-clock-skew", "0"));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @Test
    @Order(1)
    void goodTokensOfEveryAlgorithmByBothMechanisms() throws Exception {
        try (Helper h = new Helper(dir.resolve("good.log"), issuerArgs())) {
            assertTrue(h.handshake.contains("MECH\tOAUTHBEARER\tplaintext"), h.handshake.toString());
            assertTrue(h.handshake.contains("MECH\tXOAUTH2\tplaintext"), h.handshake.toString());
            for (String resource : List.of("urn:saslauth:mail", "urn:saslauth:ps256", "urn:saslauth:es256", "urn:saslauth:eddsa")) {
                String token = idp.token("alice", resource);
                assertEquals("OK\t" + (h.id + 1) + "\tuser=alice@example.org", h.login("OAUTHBEARER", bearer("alice@example.org", token)),
                        resource + "\n" + h.log());
                assertEquals("OK\t" + (h.id + 1) + "\tuser=alice@example.org", h.login("XOAUTH2", xoauth2("alice@example.org", token)),
                        resource + "\n" + h.log());
            }
            // without a=, the token's user; the name as the client typed it, made canonical
            String token = idp.token("bob", "urn:saslauth:mail");
            assertEquals("OK\t" + (h.id + 1) + "\tuser=bob@example.org", h.login("OAUTHBEARER", bearer(null, token)), h.log());
            assertFalse(h.log().contains(token), "a token in the log");
            assertTrue(h.logs("oauth2: 4 key(s) of " + idp.issuer), h.log());
        }
    }

    @Test
    @Order(2)
    void refusedTokens() throws Exception {
        String good = idp.token("alice", "urn:saslauth:mail");
        String shortLived = idp.token("alice", "urn:saslauth:short");
        String otherAudience = idp.token("alice", "urn:saslauth:other");
        otherIdp = OidcProvider.start();
        String otherIssuer = otherIdp.token("alice", "urn:saslauth:mail");
        SignedJWT real = SignedJWT.parse(good);
        JWTClaimsSet claims = real.getJWTClaimsSet();
        RSAKey stranger = new RSAKeyGenerator(2048).keyID(real.getHeader().getKeyID()).generate();
        SignedJWT sameKidOtherKey = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256)
                .keyID(real.getHeader().getKeyID()).type(new JOSEObjectType("at+jwt")).build(), claims);
        sameKidOtherKey.sign(new RSASSASigner(stranger));
        SignedJWT unknownKid = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("made-up").build(), claims);
        unknownKid.sign(new RSASSASigner(stranger));
        String none = Base64URL.encode("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + Base64URL.encode(claims.toString()) + ".";
        // HS256 with the issuer's public key as the HMAC secret: the classic confusion
        RSAKey published = (RSAKey) JWKSet.load(new java.net.URL(idp.issuer + "/jwks")).getKeyByKeyId(real.getHeader().getKeyID());
        SignedJWT hs256 = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(real.getHeader().getKeyID()).build(), claims);
        hs256.sign(new MACSigner(published.toPublicKey().getEncoded()));
        Thread.sleep(2_100); // the short-lived token expires (the helper allows no clock skew)

        try (Helper h = new Helper(dir.resolve("refused.log"), issuerArgs())) {
            String[][] cases = {
                {shortLived, "expired"},
                {otherAudience, "for audience 'urn:other', not urn:saslauth:mail"},
                {otherIssuer, "issued by '" + otherIdp.issuer + "', not " + idp.issuer},
                {sameKidOtherKey.serialize(), "bad signature"},
                {unknownKid.serialize(), "signed by key 'made-up', which the issuer does not have"},
                {none, "not a signed JWT"},
                {hs256.serialize(), "signed with HS256, which is refused"},
                {"Zm9vYmFy", "not a JWT, and no oauth2-introspection-url"},
            };
            for (String[] c : cases) {
                String r = h.login("OAUTHBEARER", bearer("alice@example.org", c[0]));
                assertTrue(r.startsWith("{\"status\":\"invalid_token\",\"openid-configuration\":\"" + idp.issuer
                        + "/.well-known/openid-configuration\"} | FAIL\t"), c[1] + ": " + r);
                assertTrue(r.endsWith("\tuser=alice@example.org\treason=Authentication failed"), c[1] + ": " + r);
                assertTrue(h.logs("reason=\"invalid token: " + c[1]), c[1] + "\n" + h.log());
                String x = h.login("XOAUTH2", xoauth2("alice@example.org", c[0]));
                assertTrue(x.startsWith("{\"status\":\"401\",\"schemes\":\"bearer\"} | FAIL\t"), c[1] + ": " + x);
            }
            // another user's token, with and without a good one
            String r = h.login("OAUTHBEARER", bearer("bob@example.org", good));
            assertTrue(r.endsWith("\tuser=bob@example.org\treason=Authorization as another user is not allowed"), r);
            assertTrue(h.logs("the token is alice@example.org's"), h.log());
            r = h.login("XOAUTH2", xoauth2("bob@example.org", good));
            assertTrue(r.contains("FAIL\t") && r.contains("user=bob@example.org"), r);
            // garbage: answered, never a crash or a lost reply
            for (byte[] garbage : new byte[][] {"garbage".getBytes(StandardCharsets.US_ASCII), new byte[] {1},
                    "n,a=alice,\u0001auth=Basic abc\u0001\u0001".getBytes(StandardCharsets.US_ASCII),
                    "p=tls-unique,,\u0001auth=Bearer abc\u0001\u0001".getBytes(StandardCharsets.US_ASCII),
                    "n,a=alice,\u0001auth=Bearer a b\u0001\u0001".getBytes(StandardCharsets.US_ASCII), new byte[0]}) {
                r = h.login("OAUTHBEARER", garbage);
                assertTrue(r.startsWith("{\"status\":\"invalid_request\"") && r.contains("| FAIL\t"), r);
                r = h.login("XOAUTH2", garbage);
                assertTrue(r.startsWith("{\"status\":\"400\"") && r.contains("| FAIL\t"), r);
            }
            // and the good token still logs in
            assertTrue(h.login("OAUTHBEARER", bearer("alice@example.org", good)).startsWith("OK\t"), h.log());
        }
        assertEquals("", Files.readString(dir.resolve("refused.log.stderr")), "stderr under spawn");
    }

    @Test
    @Order(3)
    void requiredScope() throws Exception {
        String token = idp.token("alice", "urn:saslauth:mail");
        try (Helper h = new Helper(dir.resolve("scope.log"), issuerArgs("--oauth2-required-scope", "mail"))) {
            assertTrue(h.login("XOAUTH2", xoauth2("alice@example.org", token)).startsWith("OK\t"), h.log());
        }
        try (Helper h = new Helper(dir.resolve("noscope.log"), issuerArgs("--oauth2-required-scope", "admin"))) {
            String r = h.login("OAUTHBEARER", bearer("alice@example.org", token));
            assertTrue(r.startsWith("{\"status\":\"insufficient_scope\",\"scope\":\"admin\""), r);
            assertTrue(r.endsWith("reason=Authentication failed"), r);
            assertTrue(h.logs("scope admin not granted"), h.log());
        }
    }

    @Test
    @Order(4)
    void keysRotatedWhileTheHelperRunsThenTheIssuerStopped() throws Exception {
        String before = idp.token("carol", "urn:saslauth:mail");
        try (Helper h = new Helper(dir.resolve("rotate.log"), issuerArgs())) {
            assertTrue(h.login("OAUTHBEARER", bearer("carol@example.org", before)).startsWith("OK\t"), h.log());
            idp.rotate();
            String after = idp.token("carol", "urn:saslauth:mail");
            assertFalse(SignedJWT.parse(after).getHeader().getKeyID().equals(SignedJWT.parse(before).getHeader().getKeyID()));
            // a key id it has not seen makes it fetch the keys again, at most once every 10 s
            Thread.sleep(10_500);
            assertTrue(h.login("OAUTHBEARER", bearer("carol@example.org", after)).startsWith("OK\t"), h.log());
            assertEquals(2, h.log().split("oauth2: 4 key\\(s\\) of", -1).length - 1, h.log());

            idp.stop(); // the keys in hand keep working
            assertTrue(h.login("XOAUTH2", xoauth2("carol@example.org", after)).startsWith("OK\t"), h.log());
        }
        // a helper started while the issuer is away: a temporary failure, never an OK
        String during;
        try (Helper h = new Helper(dir.resolve("down.log"), issuerArgs())) {
            idp.restart();
            during = idp.token("carol", "urn:saslauth:mail");
            idp.stop();
            String r = h.login("OAUTHBEARER", bearer("carol@example.org", during));
            assertTrue(r.startsWith("{\"status\":\"internal_failure\"") && r.endsWith("code=temp_fail"), r + "\n" + h.log());
            assertTrue(h.logs("oauth2: cannot fetch the keys of " + idp.issuer), h.log());
            idp.restart(); // back: the next login fetches the keys (5 s after the failed fetch at the soonest)
            Thread.sleep(5_200);
            assertTrue(h.login("OAUTHBEARER", bearer("carol@example.org", during)).startsWith("OK\t"), h.log());
            assertTrue(h.logs("oauth2: " + idp.issuer + " answers again"), h.log());
        }
    }

    @Test
    @Order(5)
    void opaqueTokensByIntrospection() throws Exception {
        Path secret = dir.resolve("client.secret");
        Files.writeString(secret, "saslauth-secret\n");
        String opaque = idp.token("dave", "urn:saslauth:opaque");
        String jwt = idp.token("dave", "urn:saslauth:mail");
        try (Helper h = new Helper(dir.resolve("introspect.log"), issuerArgs("--oauth2-introspection-url",
                idp.issuer + "/token/introspection", "--oauth2-client-id", "saslauth", "--oauth2-client-secret-file",
                secret.toString()))) {
            assertTrue(h.login("OAUTHBEARER", bearer("dave@example.org", opaque)).startsWith("OK\t"), h.log() + idp.log());
            assertTrue(h.login("XOAUTH2", xoauth2("dave@example.org", opaque)).startsWith("OK\t"), h.log());
            assertTrue(h.login("XOAUTH2", xoauth2("dave@example.org", jwt)).startsWith("OK\t"), h.log());
            String r = h.login("OAUTHBEARER", bearer("dave@example.org", "not-a-token-the-issuer-made"));
            assertTrue(r.contains("FAIL\t"), r);
            assertTrue(h.logs("the issuer says the token is not active"), h.log());
        }
        Files.writeString(secret, "wrong-secret\n");
        try (Helper h = new Helper(dir.resolve("introspect-bad.log"), "--mechanisms", "OAUTHBEARER",
                "--oauth2-introspection-url", idp.issuer + "/token/introspection", "--oauth2-client-id", "saslauth",
                "--oauth2-client-secret-file", secret.toString())) {
            String r = h.login("OAUTHBEARER", bearer("dave@example.org", opaque));
            assertTrue(r.endsWith("code=temp_fail"), r + "\n" + h.log()); // the issuer refuses us: not the user's fault
        }
    }

    @Test
    @Order(6)
    void theDaemon() throws Exception {
        String token = idp.token("erin", "urn:saslauth:mail");
        Path ddir = Files.createDirectories(dir.resolve("daemon"));
        Path socket = ddir.resolve("auth.sock");
        List<String> args = new ArrayList<>(List.of("--listen", "unix:" + socket, "--failure-delay", "0",
                "--auth-penalty", "false", "--penalty-exempt", "192.0.2.0/24"));
        args.addAll(List.of(issuerArgs()));
        try (DaemonProcess d = DaemonProcess.start(ddir, socket, args.toArray(String[]::new));
                AuthClient c = AuthClient.unix(socket)) {
            assertTrue(c.handshake().contains("MECH\tOAUTHBEARER\tplaintext"));
            c.send("AUTH\t1\tOAUTHBEARER\tservice=smtp\trip=192.0.2.1\tresp="
                    + Base64.getEncoder().encodeToString(bearer("erin@example.org", token)) + "\n");
            assertEquals("OK\t1\tuser=erin@example.org", c.readLine());
            c.send("AUTH\t2\tXOAUTH2\tservice=smtp\trip=192.0.2.1\tresp="
                    + Base64.getEncoder().encodeToString(xoauth2("erin@example.org", token + "x")) + "\n");
            String cont = c.readLine();
            assertTrue(cont.startsWith("CONT\t2\t"), cont);
            c.send("CONT\t2\t\n");
            assertTrue(c.readLine().startsWith("FAIL\t2\tuser=erin@example.org"));
        }
    }

    @Test
    @Order(7)
    void throughPostfixWithRealClients() throws Exception {
        PostfixInstance.requirePostfix();
        PostfixInstance.Service oauth = new PostfixInstance.Service("saslauth_oauth", String.join("\n",
                "mechanisms = PLAIN,OAUTHBEARER,XOAUTH2",
                "passwd-file = {etc}/oauth.passwd",
                "oauth2-issuer = " + idp.issuer,
                "oauth2-audience = urn:saslauth:mail",
                "oauth2-username-claim = email",
                "failure-delay = 0",
                "penalty-exempt = 127.0.0.0/8",
                "log-file = {log}/saslauth-oauth.log",
                ""));
        idp.restart();
        String token = idp.token("frank", "urn:saslauth:mail");
        String forged = token.substring(0, token.lastIndexOf('.') + 1) + "AAAA" + token.substring(token.lastIndexOf('.') + 5);
        try (PostfixInstance postfix = PostfixInstance.start(Path.of(System.getProperty("basedir", ".")), List.of(oauth))) {
            Files.writeString(postfix.etc().resolve("oauth.passwd"), "frank@example.org:{PLAIN}frank-password\n");
            int port = postfix.port(oauth);
            String log = postfix.dir.resolve("log/saslauth-oauth.log").toString();
            for (String mech : List.of("OAUTHBEARER", "XOAUTH2")) {
                MailClients.Outcome ok = MailClients.smtplibBearer(port, mech, "frank@example.org", token);
                assertTrue(ok.ok(), ok + "\n" + postfix.maillogTail(20) + readOr(log));
                MailClients.Outcome bad = MailClients.smtplibBearer(port, mech, "frank@example.org", forged);
                assertEquals(1, bad.refused(), bad + "\n" + readOr(log));
                assertTrue(bad.output().contains(mech.equals("OAUTHBEARER") ? "invalid_token" : "\"401\""), bad.toString());
                MailClients.Outcome curl = MailClients.curlBearer(port, mech, "frank@example.org", token);
                assertTrue(curl.ok(), curl + "\n" + readOr(log));
                MailClients.Outcome curlBad = MailClients.curlBearer(port, mech, "frank@example.org", forged);
                assertEquals(1, curlBad.refused(), curlBad + "\n" + readOr(log));
            }
            // the password mechanism beside them, from the passwd file
            assertTrue(MailClients.curl(port, "PLAIN", "frank@example.org", "frank-password").ok(), readOr(log));
            for (String mech : List.of("OAUTHBEARER", "XOAUTH2")) {
                assertTrue(readOr(log).contains("mech=" + mech + " user=\"frank@example.org\""), readOr(log));
            }
            assertTrue(postfix.maillogTail(100_000).contains("auth reply: OK?"), postfix.maillogTail(40));
            assertFalse(readOr(log).contains(token), "a token in the log");
        }
    }

    private static String readOr(String file) throws IOException {
        Path f = Path.of(file);
        return Files.exists(f) ? Files.readString(f) : "";
    }
}
