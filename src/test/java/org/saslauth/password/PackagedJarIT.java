package org.saslauth.password;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged {@code target/saslauth.jar}, which keeps only the classes its analysis reaches:
 * every scheme {@code hash} makes is made and then verified by the jar itself, over PLAIN and
 * LOGIN, and OREORE answers; nothing on stderr (slf4j's provider, found through ServiceLoader,
 * is in it), and the log file is written.
 */
class PackagedJarIT {

    private static final Path JAR = Path.of(System.getProperty("basedir", "."), "target", "saslauth.jar");

    /** Lower costs where a scheme has one, so that the test stays quick. */
    private static final Map<String, List<String>> COST = Map.of(
            "BLF-CRYPT", List.of("-r", "4"), "CRYPT", List.of("-r", "4"),
            "ARGON2ID", List.of("-r", "1"), "ARGON2I", List.of("-r", "3"),
            "SHA512-CRYPT", List.of("-r", "1000"), "SHA256-CRYPT", List.of("-r", "1000"),
            "PBKDF2", List.of("-r", "1000"), "SCRAM-SHA-256", List.of("-r", "4096"),
            "SCRAM-SHA-1", List.of("-r", "4096"));

    @TempDir
    static Path dir;

    /** user name → its field, made by the jar's {@code hash}, the password being "pw-" + scheme */
    private static final Map<String, String> USERS = new LinkedHashMap<>();

    record Result(int status, String out, String err) {}

    static Result jar(String stdin, List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-jar", JAR.toString()));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the jar ended");
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8),
                new String(err, StandardCharsets.UTF_8));
    }

    static String user(String scheme) {
        return scheme.equals("DIGEST-MD5") ? "digest@realm" : "u-" + scheme.toLowerCase();
    }

    @BeforeAll
    static void hashEverySchemeWithTheJar() throws Exception {
        assertTrue(Files.isReadable(JAR), JAR + " is missing: run the integration tests through `mvn verify`");
        for (String scheme : SchemeNames.HASHABLE) {
            List<String> args = new ArrayList<>(List.of("hash", "-s", scheme));
            args.addAll(COST.getOrDefault(scheme, List.of()));
            if (scheme.equals("DIGEST-MD5")) {
                args.addAll(List.of("-u", user(scheme)));
            }
            Result r = jar("pw-" + scheme + "\n", args);
            assertEquals(0, r.status(), scheme + ": " + r.err());
            assertEquals("", r.err(), scheme);
            String[] lines = r.out().strip().split("\n");
            String field = lines[lines.length - 1];
            assertTrue(field.startsWith("{"), scheme + ": " + r.out());
            USERS.put(user(scheme), field);
        }
    }

    static String plain(String user, String password) {
        return Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * One request after the other's answer: a slow scheme (ARGON2 at 64 MiB) must not keep the
     * others waiting in line long enough for a temporary failure on a busy machine.
     */
    @Test
    void theJarVerifiesEverySchemeItMakesOverPlainAndLogin() throws Exception {
        Path passwd = dir.resolve("users.passwd");
        StringBuilder file = new StringBuilder();
        USERS.forEach((u, f) -> file.append(u).append(':').append(f).append('\n'));
        Files.writeString(passwd, file);
        Path log = dir.resolve("serve.log");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-jar", JAR.toString(),
                "--passwd-file", passwd.toString(), "--mechanisms", "PLAIN,LOGIN",
                "--failure-delay", "0", "--auth-penalty", "false", "--max-auth-rate", "0",
                // one address failing on every user: no ban (penalty-ban-*) in this test of the schemes
                "--penalty-ban-users", "100000", "--penalty-ban-passwords", "100000",
                "--log-file", log.toString(), "--log-level", "info").start();
        try {
            var in = p.getOutputStream();
            var out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            java.util.function.Function<String, String> ask = text -> {
                try {
                    in.write(text.getBytes(StandardCharsets.UTF_8));
                    in.flush();
                    String line = out.readLine();
                    return line == null ? "(end of output)" : line;
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            };
            ask.apply("VERSION\t1\t0\nCPID\t1\n");
            String line;
            while (!"DONE".equals(line = out.readLine())) {
                assertTrue(line != null, "handshake ended early");
            }
            int id = 0;
            for (String scheme : SchemeNames.HASHABLE) {
                String u = user(scheme);
                id++;
                assertEquals("OK\t" + id + "\tuser=" + u,
                        ask.apply("AUTH\t" + id + "\tPLAIN\tservice=smtp\tresp=" + plain(u, "pw-" + scheme) + "\n"),
                        scheme);
                id++;
                String wrong = ask.apply("AUTH\t" + id + "\tPLAIN\tservice=smtp\tresp=" + plain(u, "wrong") + "\n");
                assertEquals("FAIL\t" + id + "\tuser=" + u + "\treason=Authentication failed", wrong, scheme);
            }
            id++;
            String loginUser = user("BLF-CRYPT");
            assertTrue(ask.apply("AUTH\t" + id + "\tLOGIN\tservice=smtp\n").startsWith("CONT\t" + id));
            assertTrue(ask.apply("CONT\t" + id + "\t" + b64(loginUser) + "\n").startsWith("CONT\t" + id));
            assertEquals("OK\t" + id + "\tuser=" + loginUser, ask.apply("CONT\t" + id + "\t" + b64("pw-BLF-CRYPT") + "\n"));
            in.close();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue());
            assertEquals("", new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8), "nothing on stderr");
            String logged = Files.readString(log);
            assertTrue(logged.contains("auth ok") && logged.contains(loginUser), "the log is written: " + logged);
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void theJarServesOreore() throws Exception {
        Path log = dir.resolve("oreore.log");
        Result r = jar("VERSION\t1\t0\nCPID\t1\nAUTH\t1\tOREORE\tservice=smtp\tresp=" + b64("someone") + "\n",
                List.of("--mechanisms", "OREORE", "--log-file", log.toString()));
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err(), "nothing on stderr");
        assertTrue(r.out().contains("MECH\tOREORE") && r.out().contains("OK\t1\tuser=someone"), r.out());
        assertTrue(Files.readString(log).contains("OREORE is enabled"));
    }
}
