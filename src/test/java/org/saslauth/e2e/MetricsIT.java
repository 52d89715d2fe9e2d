package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --metrics-listen}: the daemon ({@code target/saslauth.jar} through the launcher) with a
 * checkpassword passdb that says yes, no and "temporary failure", and a cache; the counters are
 * read from {@code /metrics} and must match the logins made. Debian's {@code prometheus} package
 * gives {@code promtool check metrics} and a real Prometheus that scrapes the daemon and answers
 * a query for the counter.
 */
@Timeout(180)
class MetricsIT {

    private static final Path JAR = DaemonProcess.projectDir().resolve("target/saslauth.jar").toAbsolutePath();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path dir;

    /** Says yes to alice:good, a temporary failure (111) for the user "down", no to the rest. */
    private Path checkpassword() throws IOException {
        Path program = dir.resolve("checkpassword.sh");
        Files.writeString(program, String.join("\n",
                "#!/bin/sh",
                "# checkpassword: NAME NUL PASSWORD NUL on descriptor 3",
                "input=$(tr '\\0' '\\n' <&3)",
                "user=$(printf '%s\\n' \"$input\" | sed -n 1p)",
                "password=$(printf '%s\\n' \"$input\" | sed -n 2p)",
                "[ \"$user\" = down ] && exit 111",
                "[ \"$user\" = alice ] && [ \"$password\" = good ] && exec \"$@\"",
                "exit 1",
                ""));
        Files.setPosixFilePermissions(program, PosixFilePermissions.fromString("rwxr-xr-x"));
        return program;
    }

    private DaemonProcess daemon(Path socket, String... more) throws IOException {
        List<String> args = new ArrayList<>(List.of("--listen", "unix:" + socket, "--passdb", "checkpassword",
                "--checkpassword-program", checkpassword().toString(), "--cache-ttl", "60s", "--failure-delay", "0",
                "--mechanisms", "PLAIN,LOGIN"));
        args.addAll(List.of(more));
        return DaemonProcess.start(dir, socket, args.toArray(String[]::new));
    }

    @Test
    void theCountersMatchTheLoginsAndPromtoolAcceptsThem() throws Exception {
        Path socket = dir.resolve("auth");
        int port = freePort();
        try (DaemonProcess d = daemon(socket, "--metrics-listen", "tcp:127.0.0.1:" + port);
             AuthClient c = AuthClient.unix(socket)) {
            c.handshake();
            int id = 1;
            for (int i = 0; i < 3; i++) { // the first one asks the program, the others the cache
                c.send(AuthClient.authPlain(id++, "alice", "good", "198.51.100.1"));
                assertTrue(c.readLine().startsWith("OK\t"));
            }
            for (String wrong : List.of("bad1", "bad2", "bad3")) { // the third is held back by the penalty
                c.send(AuthClient.authPlain(id++, "alice", wrong, "192.0.2.9"));
                assertTrue(c.readLine().startsWith("FAIL\t"));
            }
            c.send("AUTH\t" + id + "\tLOGIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=198.51.100.1");
            assertTrue(c.readLine().startsWith("CONT\t"));
            c.send("CONT\t" + id + "\t" + b64("alice"));
            assertTrue(c.readLine().startsWith("CONT\t"));
            c.send("CONT\t" + id++ + "\t" + b64("good"));
            assertTrue(c.readLine().startsWith("OK\t"));
            c.send(AuthClient.authPlain(id++, "down", "whatever", "198.51.100.2"));
            String temp = c.readLine();
            assertTrue(temp.startsWith("FAIL\t") && temp.contains("code=temp_fail"), temp);
            c.send("AUTH\t" + id++ + "\tX-NOTHING\tservice=smtp\trip=198.51.100.3");
            assertTrue(c.readLine().startsWith("FAIL\t"));

            String text = scrape(port, "text/plain");
            assertEquals(3, value(text, "saslauth_auth_requests_total{mechanism=\"PLAIN\",result=\"ok\"}"), text);
            assertEquals(3, value(text, "saslauth_auth_requests_total{mechanism=\"PLAIN\",result=\"fail\"}"), text);
            assertEquals(1, value(text, "saslauth_auth_requests_total{mechanism=\"PLAIN\",result=\"temp_fail\"}"), text);
            assertEquals(1, value(text, "saslauth_auth_requests_total{mechanism=\"LOGIN\",result=\"ok\"}"), text);
            assertEquals(1, value(text, "saslauth_auth_requests_total{mechanism=\"unknown\",result=\"fail\"}"), text);
            assertEquals(7, value(text, "saslauth_auth_duration_seconds_count{mechanism=\"PLAIN\",passdb=\"checkpassword\"}"), text);
            assertEquals(1, value(text, "saslauth_auth_duration_seconds_count{mechanism=\"LOGIN\",passdb=\"checkpassword\"}"), text);
            assertEquals(3, value(text, "saslauth_cache_lookups_total{result=\"hit\"}"), text); // 2 PLAIN, 1 LOGIN
            assertEquals(5, value(text, "saslauth_cache_lookups_total{result=\"miss\"}"), text);
            assertEquals(1, value(text, "saslauth_passdb_errors_total{passdb=\"checkpassword\"}"), text);
            assertEquals(1, value(text, "saslauth_penalty_delayed_total"), text);
            assertEquals(1, value(text, "saslauth_connections{listener=\"unix:" + socket + "\"}"), text);
            assertTrue(value(text, "jvm_memory_used_bytes{area=\"heap\"}") > 0, text);
            for (String secret : List.of("alice", "good", "bad1", "198.51.100", "192.0.2.9")) {
                assertFalse(text.contains(secret), "no user, password or address in the metrics: " + secret);
            }

            String openMetrics = scrape(port, "application/openmetrics-text; version=1.0.0");
            assertTrue(openMetrics.endsWith("# EOF\n"), "OpenMetrics when asked for it");
            Path promtool = Path.of("/usr/bin/promtool");
            if (!Files.isExecutable(promtool)) {
                needs("no promtool (Debian's prometheus package)");
            }
            Process check = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true).start();
            check.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
            check.getOutputStream().close();
            String said = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(check.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, check.exitValue(), "promtool check metrics: " + said);
        }
    }

    @Test
    void aRealPrometheusScrapesTheDaemonAndAnswersAQuery() throws Exception {
        Path prometheus = Path.of("/usr/bin/prometheus");
        if (!Files.isExecutable(prometheus)) {
            needs("no prometheus (Debian's prometheus package)");
        }
        Path socket = dir.resolve("auth");
        int port = freePort();
        int web = freePort();
        try (DaemonProcess d = daemon(socket, "--metrics-listen", "tcp:127.0.0.1:" + port);
             AuthClient c = AuthClient.unix(socket)) {
            c.handshake();
            for (int id = 1; id <= 2; id++) {
                c.send(AuthClient.authPlain(id, "alice", "good", "198.51.100.1"));
                assertTrue(c.readLine().startsWith("OK\t"));
            }
            Path config = dir.resolve("prometheus.yml");
            Files.writeString(config, String.join("\n",
                    "global:",
                    "  scrape_interval: 1s",
                    "scrape_configs:",
                    "  - job_name: saslauth",
                    "    static_configs:",
                    "      - targets: ['127.0.0.1:" + port + "']",
                    ""));
            Process p = new ProcessBuilder(prometheus.toString(), "--config.file=" + config,
                    "--storage.tsdb.path=" + dir.resolve("tsdb"), "--web.listen-address=127.0.0.1:" + web)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
            try {
                String query = "http://127.0.0.1:" + web + "/api/v1/query?query="
                        + java.net.URLEncoder.encode("saslauth_auth_requests_total{mechanism=\"PLAIN\",result=\"ok\"}",
                        StandardCharsets.UTF_8);
                String answer = "";
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (System.nanoTime() < deadline && p.isAlive()) {
                    try {
                        answer = get(query, "application/json");
                        if (answer.contains("\"job\":\"saslauth\"")) {
                            break;
                        }
                    } catch (IOException notYet) {
                        // not listening yet
                    }
                    Thread.sleep(250);
                }
                assertTrue(answer.matches("(?s).*\"value\":\\[[0-9.]+,\"2\"\\].*"),
                        "Prometheus has the daemon's counter at 2: " + answer + "\n" + Files.readString(dir.resolve("prometheus.log")));
            } finally {
                p.destroy();
                if (!p.waitFor(20, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
        }
    }

    @Test
    void aNonLoopbackAddressWithoutAllowFromIsRefusedAndTheDaemonServesOn() throws Exception {
        Path socket = dir.resolve("auth");
        int port = freePort();
        try (DaemonProcess d = daemon(socket, "--metrics-listen", "tcp:0.0.0.0:" + port);
             AuthClient c = AuthClient.unix(socket)) {
            c.handshake();
            c.send(AuthClient.authPlain(1, "alice", "good", "198.51.100.1"));
            assertTrue(c.readLine().startsWith("OK\t"), "logins are served without the metrics");
            assertEquals(1, d.count("is not a loopback address: give allow-from"), d.logText());
            assertThrowsIo(() -> scrape(port, "text/plain"));
        }
    }

    @Test
    void aScraperOutsideAllowFromGets403() throws Exception {
        Path socket = dir.resolve("auth");
        int port = freePort();
        try (DaemonProcess d = daemon(socket, "--metrics-listen", "tcp:0.0.0.0:" + port, "--allow-from", "192.0.2.0/24")) {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(403, r.statusCode(), r.body());
            assertFalse(r.body().contains("saslauth_"), r.body());
        }
    }

    /** Without --metrics-listen the daemon loads no class of the metrics or of client_java. */
    @Test
    void withoutMetricsNoMetricsClassLoads() throws Exception {
        if (!Files.isReadable(JAR)) {
            fail(JAR + " is missing: run the integration tests through `mvn verify`");
        }
        Path socket = dir.resolve("auth");
        Path classes = dir.resolve("classes.txt");
        Path log = dir.resolve("plain.log");
        Path users = dir.resolve("users");
        Files.writeString(users, "alice:{PLAIN}good\n");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xlog:class+load:file=" + classes, "-jar", JAR.toString(), "daemon", "--listen", "unix:" + socket,
                "--passwd-file", users.toString(), "--log-file", log.toString(), "--failure-delay", "0")
                .redirectErrorStream(true).redirectOutput(dir.resolve("plain.out").toFile()).start();
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (!Files.exists(socket) && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            try (AuthClient c = AuthClient.unix(socket)) {
                c.handshake();
                c.send(AuthClient.authPlain(1, "alice", "good", "198.51.100.1"));
                assertTrue(c.readLine().startsWith("OK\t"));
            }
            List<String> loaded = Files.readAllLines(classes).stream()
                    .filter(l -> l.contains("io.prometheus.") || l.contains("org.saslauth.metrics.")
                            || l.contains("org.saslauth.cli.Metrics "))
                    .toList();
            assertEquals(List.of(), loaded);
            assertTrue(Files.readAllLines(classes).stream().anyMatch(l -> l.contains("org.saslauth.Meter ")),
                    "the log of loaded classes is complete");
        } finally {
            p.destroy();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    private interface Io {
        void run() throws IOException, InterruptedException;
    }

    private static void assertThrowsIo(Io io) throws InterruptedException {
        try {
            io.run();
            fail("expected no answer");
        } catch (IOException expected) {
            // nothing listens
        }
    }

    private static String scrape(int port, String accept) throws IOException, InterruptedException {
        return get("http://127.0.0.1:" + port + "/metrics", accept);
    }

    private static String get(String url, String accept) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Accept", accept)
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException(url + ": HTTP " + r.statusCode() + ": " + r.body());
        }
        return r.body();
    }

    /** The value of the series named exactly {@code series} (name and labels), or -1. */
    private static double value(String text, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)").matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : -1;
    }

    private static void needs(String why) {
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail(why + " (CI=true: this test must run; .ci/run installs it)");
        }
        Assumptions.abort(why);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }
}
