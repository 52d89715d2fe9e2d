package org.saslauth.servers;

import java.io.IOException;
import java.net.CookieManager;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A real OpenID provider for the token tests: {@code oidc-provider} (npm, OpenID Certified) run
 * by Node from {@code src/test/oidc/idp.mjs} on a free loopback port, its keys in a file of its
 * directory. Access tokens come from a real authorization-code flow with PKCE; the login itself
 * is the script's (the {@code login_hint} names the user). Stopped by pid, also when a test fails.
 */
public final class OidcProvider implements AutoCloseable {

    private static final Path SCRIPT_DIR = Path.of(System.getProperty("basedir", ".")).resolve("src/test/oidc");
    private static final String REDIRECT = "http://127.0.0.1/cb";

    public final int port;
    public final String issuer;
    private final Path dir;
    private Process node;

    private OidcProvider(int port, Path dir) {
        this.port = port;
        this.issuer = "http://127.0.0.1:" + port;
        this.dir = dir;
    }

    /** Node and the script's node_modules (.ci/run installs them with npm ci), or a skip saying so. */
    public static void require() {
        boolean node = Files.isExecutable(Path.of("/usr/bin/node")) || Files.isExecutable(Path.of("/usr/local/bin/node"));
        ServerProcess.require(node, "node");
        ServerProcess.require(Files.isDirectory(SCRIPT_DIR.resolve("node_modules/oidc-provider")),
                "oidc-provider (npm ci --prefix src/test/oidc)");
    }

    public static OidcProvider start() throws IOException {
        Path dir = Files.createTempDirectory("saslauth-idp");
        OidcProvider p = new OidcProvider(ServerProcess.freePort(), dir);
        p.launch(false);
        return p;
    }

    /** Starts it again with new keys: the old ones are gone from its key set, as after a rotation. */
    public void rotate() throws IOException {
        stop();
        launch(true);
    }

    /** Starts it again with the same keys (after {@link #stop}). */
    public void restart() throws IOException {
        stop();
        launch(false);
    }

    private void launch(boolean rotate) throws IOException {
        ProcessBuilder pb = new ProcessBuilder("node", SCRIPT_DIR.resolve("idp.mjs").toString(), Integer.toString(port),
                dir.resolve("keys.json").toString());
        if (rotate) {
            pb.command().add("rotate");
        }
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("idp.log").toFile()));
        node = pb.start();
        ServerProcess.awaitPort(port, Duration.ofSeconds(30), "oidc-provider");
    }

    /** Stops the provider (by pid): the issuer cannot be reached until {@link #restart}. */
    public void stop() {
        if (node != null) {
            node.destroy();
            try {
                if (!node.waitFor(5, TimeUnit.SECONDS)) {
                    node.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            node = null;
        }
    }

    /** The provider's own log, for a failure's message. */
    public String log() throws IOException {
        Path f = dir.resolve("idp.log");
        return Files.exists(f) ? Files.readString(f) : "";
    }

    /** The private keys (JWKs) the provider signs with now. */
    public String privateKeys() throws IOException {
        return Files.readString(dir.resolve("keys.json"));
    }

    /**
     * An access token for {@code user} and {@code resource} ({@code urn:saslauth:mail} is RS256,
     * {@code urn:saslauth:es256}, {@code :ps256}, {@code :eddsa} sign otherwise, {@code :other}
     * is for another audience, {@code :short} lives 1 s, {@code :opaque} is not a JWT), through
     * the authorization-code flow with PKCE.
     */
    public String token(String user, String resource) throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().cookieHandler(new CookieManager())
                .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(10)).build();
        byte[] v = new byte[32];
        new SecureRandom().nextBytes(v);
        String verifier = Base64.getUrlEncoder().withoutPadding().encodeToString(v);
        String challenge;
        try {
            challenge = Base64.getUrlEncoder().withoutPadding().encodeToString(
                    MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        URI at = URI.create(issuer + "/auth?" + form(Map.of("client_id", "mail", "response_type", "code",
                "redirect_uri", REDIRECT, "scope", "openid mail", "resource", resource, "login_hint", user,
                "code_challenge", challenge, "code_challenge_method", "S256", "state", "s")));
        for (int hop = 0; hop < 8 && !at.toString().startsWith(REDIRECT); hop++) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(at).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            String location = r.headers().firstValue("Location")
                    .orElseThrow(() -> new IOException("no redirect from " + r.uri() + ": HTTP " + r.statusCode() + " " + r.body()));
            at = at.resolve(location);
        }
        Matcher code = Pattern.compile("[?&]code=([^&]+)").matcher(at.toString());
        if (!code.find()) {
            throw new IOException("no code in " + at);
        }
        HttpResponse<String> t = http.send(HttpRequest.newBuilder(URI.create(issuer + "/token"))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString("mail:mail-secret".getBytes(StandardCharsets.US_ASCII)))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form(Map.of("grant_type", "authorization_code",
                        "code", code.group(1), "redirect_uri", REDIRECT, "code_verifier", verifier, "resource", resource))))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        Matcher token = Pattern.compile("\"access_token\"\\s*:\\s*\"([^\"]+)\"").matcher(t.body());
        if (t.statusCode() != 200 || !token.find()) {
            throw new IOException("token endpoint: HTTP " + t.statusCode() + " " + t.body());
        }
        return token.group(1);
    }

    private static String form(Map<String, String> fields) {
        return fields.entrySet().stream()
                .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "=" + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
    }

    @Override
    public void close() {
        stop();
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // a temporary directory left behind
        }
    }
}
