package org.saslauth.password;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.bouncycastle.crypto.params.Argon2Parameters;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Argon2 through libsodium ({@link SodiumArgon2}): a spawn helper started by the launcher
 * {@code examples/saslauth} on a JDK 22 or later (the one {@code saslauth.e2e.java2} names, else
 * the newest under {@code /usr/lib/jvm}) verifies doveadm's {@code {ARGON2ID}} and
 * {@code {ARGON2I}} entries through libsodium and the strings libsodium does not take ({@code p=2},
 * an 8-byte salt, a 12-byte hash, argon2i with one pass) through Bouncy Castle, as its debug log
 * says; good passwords pass, wrong ones fail, and stderr stays empty (no "restricted method"
 * warning: the jar's manifest enables native access), through JNA and through the FFM API. The
 * same session on this test's own Java (17) goes through libsodium by JNA, and through Bouncy
 * Castle where JNA is not used, with the same answers. Without a JDK 22+ those tests are
 * skipped, saying so, except under {@code CI=true}, where they fail.
 */
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SodiumArgon2IT {

    private static final Path JAR = Path.of(System.getProperty("basedir", "."), "target", "saslauth.jar").toAbsolutePath();
    private static final Path LAUNCHER = Path.of(System.getProperty("basedir", "."), "examples", "saslauth").toAbsolutePath();
    private static final String THROUGH_SODIUM = "Argon2 through libsodium's crypto_pwhash";

    /** A password with bytes beyond ASCII and a control character: passed to libsodium as is. */
    private static final byte[] PASSWORD = "p\u00e4ss w\u00f6rd \u00ff\u0001\u007f".getBytes(StandardCharsets.UTF_8);
    private static final byte[] WRONG = "p\u00e4ss w\u00f6rd \u00ff\u0001\u007e".getBytes(StandardCharsets.UTF_8);

    @TempDir
    static Path dir;

    /** user → passwd-file field; users named "bc-..." are those libsodium does not take */
    private static final Map<String, String> USERS = new LinkedHashMap<>();

    @BeforeAll
    static void entries() {
        assertTrue(Files.isReadable(JAR), JAR + " is missing: run the integration tests through `mvn verify`");
        List<Doveadm.Make> made = List.of(
                new Doveadm.Make("ARGON2ID", PASSWORD, null, null), // m=65536,t=3
                new Doveadm.Make("ARGON2I", PASSWORD, null, null), // m=32768,t=4
                new Doveadm.Make("ARGON2I", PASSWORD, 3, null)); // m=32768,t=3
        List<Doveadm.Result> results = Doveadm.make(made);
        String[] names = {"doveadm-argon2id", "doveadm-argon2i-t4", "doveadm-argon2i-t3"};
        for (int i = 0; i < names.length; i++) {
            assertEquals(0, results.get(i).status(), results.get(i).output());
            USERS.put(names[i], results.get(i).output());
        }
        // Made by Bouncy Castle: other costs that libsodium computes, and strings it does not take.
        USERS.put("argon2id-m8192-t2", phc(true, 8192, 2, 1, 16, 32));
        USERS.put("argon2id-m16384-t1-64bytes", phc(true, 16384, 1, 1, 16, 64));
        USERS.put("argon2i-m8192-t3", phc(false, 8192, 3, 1, 16, 32));
        USERS.put("bc-argon2id-p2", phc(true, 8192, 2, 2, 16, 32));
        USERS.put("bc-argon2id-salt8", phc(true, 8192, 2, 1, 8, 32));
        USERS.put("bc-argon2id-hash12", phc(true, 8192, 2, 1, 16, 12));
        USERS.put("bc-argon2i-t1", phc(false, 8192, 1, 1, 16, 32));
    }

    private static String phc(boolean id, int memoryKiB, int passes, int lanes, int saltLength, int length) {
        byte[] salt = Salts.bytes(saltLength);
        byte[] hash = Argon2.bouncyCastle(id ? Argon2Parameters.ARGON2_id : Argon2Parameters.ARGON2_i, passes,
                memoryKiB, lanes, salt, PASSWORD, length);
        Base64.Encoder b64 = Base64.getEncoder().withoutPadding();
        String variant = id ? "argon2id" : "argon2i";
        return "{" + variant.toUpperCase() + "}$" + variant + "$v=19$m=" + memoryKiB + ",t=" + passes + ",p=" + lanes
                + "$" + b64.encodeToString(salt) + "$" + b64.encodeToString(hash);
    }

    @Test
    void aHelperOnJava22OrLaterVerifiesThroughLibsodiumAndSaysNothingOnStderr() throws Exception {
        String log = serve(jdk22OrLater(), "java22");
        assertTrue(log.contains("DEBUG saslauth[") && log.contains(THROUGH_SODIUM + " (JNA)"), log);
        assertThroughLibsodiumButTheFourItDoesNotTake(log);
    }

    /** The FFM API, where JNA is not used ({@code saslauth.native=ffm}), gives the same answers. */
    @Test
    void aHelperOnJava22OrLaterVerifiesThroughLibsodiumByTheFfmApiToo() throws Exception {
        String log = serve(jdk22OrLater(), "java22-ffm", "-Dsaslauth.native=ffm");
        assertTrue(log.contains(THROUGH_SODIUM + " (FFM)"), log);
        assertThroughLibsodiumButTheFourItDoesNotTake(log);
    }

    /** Java 17 (the tests' own), through JNA, as the JDK 22+ does. */
    @Test
    void aHelperOnThisJavaGivesTheSameAnswersThroughLibsodium() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        String log = serve(java, "this");
        assertTrue(log.contains(THROUGH_SODIUM + " (JNA)"), log);
        assertThroughLibsodiumButTheFourItDoesNotTake(log);
    }

    /** Where neither binding is used, Bouncy Castle gives the same answers, every one of them. */
    @Test
    void aHelperWithoutJnaOnJava17GivesTheSameAnswersThroughBouncyCastle() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        String log = serve(java, "this-ffm", "-Dsaslauth.native=ffm");
        if (Runtime.version().feature() < 22) {
            assertTrue(log.contains("Argon2 through Bouncy Castle: Java " + Runtime.version().feature()
                    + " has no FFM API"), log);
            assertEquals(0, count(log, ": computed by Bouncy Castle"), log);
        } else {
            assertTrue(log.contains(THROUGH_SODIUM + " (FFM)"), log);
        }
    }

    /**
     * JNA's native part refused (not unpacked, nowhere to load it from): libsodium through the
     * FFM API on a JDK 22+, Bouncy Castle on Java 17, the same answers and nothing on stderr.
     */
    @Test
    void whereJnaCannotLoadTheAnswersAreTheSameAndStderrStaysEmpty() throws Exception {
        String[] noJna = {"-Djna.nounpack=true", "-Djna.nosys=true"};
        String log = serve(Path.of(System.getProperty("java.home"), "bin", "java"), "nojna-this", noJna);
        if (Runtime.version().feature() < 22) {
            assertTrue(log.contains("Argon2 through Bouncy Castle: JNA: JNA cannot load its native part"), log);
            assertEquals(0, count(log, ": computed by Bouncy Castle"), log);
        }
        Optional<Path> jdk22 = newJdk();
        if (jdk22.isPresent()) {
            String log22 = serve(jdk22.get(), "nojna-java22", noJna);
            assertTrue(log22.contains(THROUGH_SODIUM + " (FFM)"), log22);
            assertThroughLibsodiumButTheFourItDoesNotTake(log22);
        }
    }

    private static void assertThroughLibsodiumButTheFourItDoesNotTake(String log) {
        assertTrue(log.contains("argon2id p=2 (libsodium computes p=1 only): computed by Bouncy Castle"), log);
        assertTrue(log.contains("argon2id a 8-byte salt (libsodium takes 16 bytes): computed by Bouncy Castle"), log);
        assertTrue(log.contains("argon2id a 12-byte hash (libsodium makes 16 bytes or more): computed by Bouncy Castle"), log);
        assertTrue(log.contains("argon2i t=1 (libsodium takes 3 to 4294967295): computed by Bouncy Castle"), log);
        // those four users' two checks each, and no other: the rest went through libsodium
        assertEquals(8, count(log, ": computed by Bouncy Castle"), log);
        assertEquals(0, count(log, "libsodium's crypto_pwhash failed") + count(log, "libsodium's crypto_pwhash returned"), log);
    }

    private static Path jdk22OrLater() {
        Path java = newJdk().orElse(null);
        if (java == null) {
            String why = "no JDK 22 or later under /usr/lib/jvm (saslauth.e2e.java2="
                    + System.getProperty("saslauth.e2e.java2", "") + "): Argon2 on it is not tested";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail(why + " (CI=true: this test must run)");
            }
            Assumptions.abort(why);
        }
        return java;
    }

    /**
     * Runs one spawn helper session on {@code java}: each user with the right and a wrong password,
     * over PLAIN, one request after the other's answer (so that no check waits for a thread long
     * enough for a temporary failure on a busy machine). Checks the answers and the empty stderr;
     * returns the debug log.
     */
    private static String serve(Path java, String name, String... jvm) throws Exception {
        Path passwd = dir.resolve(name + ".passwd");
        StringBuilder file = new StringBuilder();
        USERS.forEach((u, f) -> file.append(u).append(':').append(f).append('\n'));
        Files.writeString(passwd, file);
        Path log = dir.resolve(name + ".log");
        // through the launcher, as a helper runs; with JVM options, the jar on java itself
        List<String> command = new ArrayList<>();
        if (jvm.length == 0) {
            command.add(LAUNCHER.toString());
        } else {
            command.add(java.toString());
            command.addAll(List.of(jvm));
            command.addAll(List.of("-jar", JAR.toString()));
        }
        command.addAll(List.of("--passwd-file", passwd.toString(),
                "--mechanisms", "PLAIN", "--failure-delay", "0", "--auth-penalty", "false", "--max-auth-rate", "0",
                "--log-file", log.toString(), "--log-level", "debug"));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("SASLAUTH_JAVA", java.toString());
        pb.environment().put("SASLAUTH_JAR", JAR.toString());
        pb.environment().put("SASLAUTH_CDS", dir.resolve("none.jsa").toString());
        Process p = pb.start();
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> drain(p.getErrorStream()));
        try {
            OutputStream in = p.getOutputStream();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            in.write("VERSION\t1\t0\nCPID\t1\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
            for (String line = out.readLine(); !"DONE".equals(line); line = out.readLine()) {
                assertNotNull(line, "the handshake ended early");
            }
            int id = 0;
            for (String user : USERS.keySet()) {
                for (byte[] password : List.of(PASSWORD, WRONG)) {
                    id++;
                    in.write(("AUTH\t" + id + "\tPLAIN\tservice=smtp\tresp=" + plain(user, password) + "\n")
                            .getBytes(StandardCharsets.UTF_8));
                    in.flush();
                    String expected = password == PASSWORD ? "OK\t" + id + "\tuser=" + user
                            : "FAIL\t" + id + "\tuser=" + user + "\treason=Authentication failed";
                    assertEquals(expected, out.readLine(), user + " on " + java);
                }
            }
            in.close();
            assertNull(out.readLine());
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                fail("the helper still ran 60 s after the end of its input");
            }
        } finally {
            p.destroyForcibly();
        }
        assertEquals(0, p.exitValue());
        assertEquals("", err.get(10, TimeUnit.SECONDS), "stderr of the helper on " + java);
        return Files.readString(log);
    }

    private static String drain(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String plain(String user, byte[] password) {
        byte[] u = user.getBytes(StandardCharsets.UTF_8);
        byte[] message = new byte[2 + u.length + password.length];
        System.arraycopy(u, 0, message, 1, u.length);
        System.arraycopy(password, 0, message, 2 + u.length, password.length);
        return Base64.getEncoder().encodeToString(message);
    }

    private static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }

    /**
     * bin/java of a JDK 22 or later: the feature version {@code saslauth.e2e.java2} names (or a
     * java binary it names), else the newest under /usr/lib/jvm.
     */
    static Optional<Path> newJdk() {
        String wanted = System.getProperty("saslauth.e2e.java2", "").strip();
        if (!wanted.isEmpty() && !wanted.matches("[0-9]+") && Files.isExecutable(Path.of(wanted))) {
            return Optional.of(Path.of(wanted));
        }
        Pattern version = Pattern.compile("(?m)^JAVA_VERSION=\"([0-9]+)");
        Map<Path, Integer> jdks = new LinkedHashMap<>();
        try (Stream<Path> all = Files.list(Path.of("/usr/lib/jvm"))) {
            for (Path jdk : (Iterable<Path>) all.sorted()::iterator) {
                Path release = jdk.resolve("release");
                if (Files.isExecutable(jdk.resolve("bin/java")) && Files.isReadable(release)) {
                    Matcher m = version.matcher(Files.readString(release));
                    if (m.find() && Integer.parseInt(m.group(1)) >= 22) {
                        jdks.put(jdk.resolve("bin/java"), Integer.parseInt(m.group(1)));
                    }
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        List<Map.Entry<Path, Integer>> found = new ArrayList<>(jdks.entrySet());
        return found.stream()
                .filter(e -> wanted.equals(String.valueOf(e.getValue())))
                .findFirst()
                .or(() -> found.stream().max(Comparator.comparingInt(Map.Entry::getValue)))
                .map(Map.Entry::getKey);
    }
}
