package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.saslauth.password.PasswordSchemes;

/**
 * Issue 10's findings that came through a process, against the packaged jar started by the
 * launcher {@code examples/saslauth} with its JVM flags (its {@code -Xmx128m} decides whether a
 * large file exhausts the heap), and under spawn with stdin, stdout and stderr one socket.
 * {@code -Dsaslauth.jar=...} and {@code -Dsaslauth.launcher=...} run it against another build.
 */
@Timeout(120)
class JarHardeningIT {

    static final Path JAR = Path.of(System.getProperty("saslauth.jar", "target/saslauth.jar")).toAbsolutePath();
    static final Path LAUNCHER = Path.of(System.getProperty("saslauth.launcher", "examples/saslauth")).toAbsolutePath();
    static final String SESSION_HEAD = "VERSION\t1\t0\nCPID\t1\n";

    @TempDir
    Path dir;

    record Result(int status, String out, String err) {}

    @BeforeAll
    static void jarIsBuilt() {
        assertTrue(Files.isReadable(JAR), JAR + " is missing: run the integration tests through `mvn verify`");
    }

    static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    static ProcessBuilder builder(List<String> cmd) {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        env.put("SASLAUTH_JAR", JAR.toString());
        env.put("SASLAUTH_CDS", "/nonexistent.jsa");
        return pb;
    }

    /** Runs with stdin as input and stdout, stderr as pipes. */
    static Result run(byte[] stdin, Map<String, String> env, String... args) throws Exception {
        ProcessBuilder pb = builder(command(args));
        pb.environment().putAll(env);
        Process p = pb.start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(stdin);
        } catch (IOException e) {
            // it exited without reading all
        }
        return collect(p);
    }

    /** What the process printed and its status; 124 when it still runs after 30 s (then killed). */
    static Result collect(Process p) throws Exception {
        var out = java.util.concurrent.CompletableFuture.supplyAsync(() -> drain(p.getInputStream()));
        var err = java.util.concurrent.CompletableFuture.supplyAsync(() -> drain(p.getErrorStream()));
        int status = 124;
        if (p.waitFor(30, TimeUnit.SECONDS)) {
            status = p.exitValue();
        } else {
            p.destroyForcibly().waitFor();
        }
        return new Result(status, out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
    }

    private static String drain(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    static Result run(String stdin, String... args) throws Exception {
        return run(stdin.getBytes(StandardCharsets.UTF_8), Map.of(), args);
    }

    /** Runs the jar under {@link CliTest#SPAWN_SOCKET}; returns what came back on the socket. */
    static Result runUnderSpawn(String stdin, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("python3", "-c", CliTest.SPAWN_SOCKET));
        cmd.addAll(command(args));
        Process p = builder(cmd).start();
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes(); // python3 gives up on the helper after 30 s
        byte[] err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), "process ended");
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    /** Removes the links to /dev/zero and such, which JUnit would warn about on the console. */
    @org.junit.jupiter.api.AfterEach
    void removeLinks() throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path path : paths.toList()) {
                if (Files.isSymbolicLink(path)) {
                    Files.delete(path);
                }
            }
        }
    }

    static String b64(byte[] bytes) {
        return Base64.getEncoder().encodeToString(bytes);
    }

    static String plain(String user, String password) {
        return b64(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    Path passwd(String... lines) throws IOException {
        Path f = dir.resolve("users.passwd");
        Files.write(f, List.of(lines));
        return f;
    }

    private static void mkfifo(Path path) throws Exception {
        assertEquals(0, new ProcessBuilder("mkfifo", path.toString()).start().waitFor());
    }

    /** A file of {@code size} zero bytes that takes no disk space. */
    private static void sparse(Path path, long size) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(path.toFile(), "rw")) {
            f.setLength(size);
        }
    }

    /** Puts what {@code kind} names at {@code path}: what would hang, exhaust or fail a reader. */
    private void breakInto(Path path, String kind) throws Exception {
        switch (kind) {
            case "fifo" -> mkfifo(path);
            case "dev-zero" -> Files.createSymbolicLink(path, Path.of("/dev/zero"));
            case "directory" -> Files.createSymbolicLink(path, Files.createDirectories(dir.resolve("a-directory")));
            case "150MB" -> sparse(path, 150L * 1024 * 1024);
            default -> throw new IllegalArgumentException(kind);
        }
    }

    /**
     * Finding 6 at start: a 150 MB file or a link to /dev/zero ended in OutOfMemoryError and exit
     * status 1, a FIFO hung the helper. Each is the reason in the log, nothing but protocol
     * lines on smtpd's socket, and (issue 21) a helper that greets and exits 0 rather than
     * status 3, which made Postfix refuse the port.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"fifo", "dev-zero", "directory", "150MB"})
    void aPasswdFileThatIsNoRegularFileIsLoggedAndServedAsTemporaryFailures(String kind) throws Exception {
        Path users = dir.resolve("users.passwd");
        breakInto(users, kind);
        Path log = dir.resolve("saslauth.log");
        Result r = runUnderSpawn(SESSION_HEAD, "--passwd-file", users.toString(), "--log-file", log.toString());
        // Issue 21: served as temporary failures rather than an exit that stops Postfix's port
        assertEquals(ExitCodes.OK, r.status(), "exit status; socket: " + r.out());
        assertTrue(r.out().startsWith("VERSION\t1\t2\n") && r.out().endsWith("DONE\n"), "protocol lines only: " + r.out());
        String logged = Files.readString(log);
        assertTrue(logged.contains(kind.equals("150MB") ? "larger than 8 MiB" : "not a regular file"), logged);
        assertFalse(logged.contains("OutOfMemoryError"), logged);
    }

    /** Finding 6: {@code test --passwd-file /dev/zero} exited 1, as if the login were refused. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"fifo", "dev-zero", "directory", "150MB"})
    void testReportsABrokenPasswdFileAsStatus3(String kind) throws Exception {
        Path users = dir.resolve("users.passwd");
        breakInto(users, kind);
        Result r = run("secret\n", "test", "--passwd-file", users.toString(), "alice");
        assertEquals(ExitCodes.CONFIG, r.status(), r.out() + r.err());
        assertTrue(r.err().contains(users.toString()), r.err());
    }

    /**
     * Finding 6 while serving: the file swapped for a link to /dev/zero, a FIFO, a 150 MB file
     * or a directory. The helper kept dying or hanging; now the last good version answers and
     * the log says why.
     */
    @Test
    void aPasswdFileBrokenWhileServingKeepsTheLastGoodVersion() throws Exception {
        Path users = passwd("alice:{PLAIN}secret");
        Path log = dir.resolve("saslauth.log");
        Process p = builder(command("--passwd-file", users.toString(), "--failure-delay", "0",
                "--auth-penalty", "false", "--log-file", log.toString())).start();
        try {
            OutputStream in = p.getOutputStream();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            in.write(SESSION_HEAD.getBytes(StandardCharsets.UTF_8));
            in.flush();
            for (String line = out.readLine(); !"DONE".equals(line); line = out.readLine()) {
                assertTrue(line != null, "handshake");
            }
            int id = 0;
            for (String kind : List.of("dev-zero", "fifo", "150MB", "directory")) {
                Files.delete(users);
                breakInto(users, kind);
                Thread.sleep(2200); // past the recheck interval and the settling time
                id++;
                in.write(("AUTH\t" + id + "\tPLAIN\trip=192.0.2.5\tresp=" + plain("alice", "secret") + "\n")
                        .getBytes(StandardCharsets.UTF_8));
                in.flush();
                long start = System.nanoTime();
                String reply = readLine(out, 20);
                assertEquals("OK\t" + id + "\tuser=alice", reply, kind + ": the last good version answers");
                assertTrue(System.nanoTime() - start < 10_000_000_000L, kind + ": within Postfix's 10 s");
            }
            in.close();
            assertTrue(p.waitFor(20, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue());
            assertEquals("", new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            String logged = Files.readString(log);
            for (String why : List.of("a device, not a regular file", "a FIFO, not a regular file",
                    "larger than 8 MiB", "a directory, not a regular file")) {
                assertTrue(logged.contains("keeping the last good version: passwd file " + users + " is " + why)
                        || logged.contains(why), why + " in " + logged);
            }
        } finally {
            p.destroyForcibly();
        }
    }

    /** Reads a line, or fails after {@code seconds} instead of hanging with the helper. */
    private static String readLine(BufferedReader reader, int seconds) throws Exception {
        var future = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return reader.readLine();
            } catch (IOException e) {
                return "read failed: " + e;
            }
        });
        try {
            return future.get(seconds, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            return "no reply within " + seconds + " s";
        }
    }

    /**
     * Finding 1: {@code printf '\0\n' | saslauth test} logged in against a hash of the empty
     * password, and LOGIN carried the NUL over the protocol. Both are refused, saying why.
     */
    @Test
    void aNulPasswordIsRefusedByTestAndOverTheProtocol() throws Exception {
        String empty = PasswordSchemes.hash("BLF-CRYPT", new byte[0], OptionalInt.empty());
        Path users = passwd("alice:" + empty);
        Result r = run(new byte[] {0, '\n'}, Map.of(), "test", "--passwd-file", users.toString(), "alice");
        assertEquals(ExitCodes.LOGIN_REFUSED, r.status(), r.out() + r.err());
        assertEquals("auth failed: user=alice (password contains NUL)\n", r.out());

        Path log = dir.resolve("saslauth.log");
        String session = SESSION_HEAD + "AUTH\t1\tLOGIN\trip=192.0.2.9\tresp=" + b64("alice".getBytes(StandardCharsets.US_ASCII))
                + "\nCONT\t1\t" + b64(new byte[] {0}) + "\n";
        Result s = runUnderSpawn(session, "--passwd-file", users.toString(), "--failure-delay", "0",
                "--log-file", log.toString());
        assertEquals(0, s.status(), s.out());
        assertTrue(s.out().endsWith("CONT\t1\tUGFzc3dvcmQ6\nFAIL\t1\tuser=alice\treason=Authentication failed\n"), s.out());
        assertTrue(Files.readString(log).contains("reason=\"password contains NUL\""), Files.readString(log));
    }

    /**
     * Findings 2 and 8: a password over the bound is refused like any other over-long password,
     * by {@code test} too (a 5,000-byte one was exit 5 "internal error"), and {@code hash} will
     * not make a hash no login could use.
     */
    @Test
    void anOverLongPasswordIsRefusedByTestAndHash() throws Exception {
        String longest = "x".repeat(256);
        Path users = passwd("alice:{PLAIN}" + longest, "bob:{PLAIN}" + "y".repeat(5000));
        assertEquals(0, run(longest + "\n", "test", "--passwd-file", users.toString(), "alice").status());
        for (String[] c : new String[][] {{"alice", longest + "x"}, {"bob", "y".repeat(5000)}}) {
            Result r = run(c[1] + "\n", "test", "--passwd-file", users.toString(), c[0]);
            assertEquals(ExitCodes.LOGIN_REFUSED, r.status(), r.out() + r.err());
            assertEquals("auth failed: user=" + c[0] + " (password longer than 256 bytes)\n", r.out());
        }
        Result h = run("z".repeat(257) + "\n", "hash");
        assertEquals(ExitCodes.USAGE, h.status(), h.out() + h.err());
        assertTrue(h.err().contains("password longer than 256 bytes"), h.err());
        assertEquals("", h.out());
    }

    /** Finding 7: {@code --log-level error} or {@code off} silenced the OREORE warning. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"off", "error", "info"})
    void theOreoreWarningIsLoggedAtEveryStartWhateverTheLevel(String level) throws Exception {
        Path log = dir.resolve("saslauth.log");
        Result r = runUnderSpawn(SESSION_HEAD, "--mechanisms", "OREORE", "--log-file", log.toString(),
                "--log-level", level);
        assertEquals(0, r.status(), r.out());
        assertTrue(r.out().contains("MECH\tOREORE"), r.out());
        String logged = Files.readString(log);
        assertTrue(logged.contains("WARN saslauth[") && logged.contains("OREORE is enabled"), logged);
    }

    /**
     * Finding 8: under {@code LANG=C} (as spawn(8) and cron pass it) {@code test} read a
     * non-ASCII user name as '?' and failed; the launcher gives Java a UTF-8 locale.
     */
    @Test
    void testReadsANonAsciiUserNameUnderLangC() throws Exception {
        Path users = passwd("jürgen:{PLAIN}pw", "ÅSA:{PLAIN}pw2");
        Map<String, String> env = Map.of("LANG", "C", "LC_ALL", "", "LC_CTYPE", "");
        Result r = run("pw\n".getBytes(StandardCharsets.UTF_8), env, "test", "--passwd-file", users.toString(), "jürgen");
        assertEquals(0, r.status(), r.out() + r.err());
        assertEquals("auth succeeded: user=jürgen\n", r.out());
        r = run("pw2\n".getBytes(StandardCharsets.UTF_8), env, "test", "--passwd-file", users.toString(), "ÅSA");
        assertEquals(0, r.status(), r.out() + r.err());
    }

    /**
     * Without the launcher, Java 17 under {@code LANG=C} cannot decode the name at all (no
     * {@code -D} flag helps); {@code test} says so instead of answering for a mangled name.
     */
    @Test
    void testWithoutTheLauncherUnderLangCSaysTheNameWasUnreadable() throws Exception {
        Path users = passwd("jürgen:{PLAIN}pw");
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", JAR.toString(), "test", "--passwd-file", users.toString(), "jürgen");
        pb.environment().put("LANG", "C");
        pb.environment().remove("LC_ALL");
        pb.environment().remove("LC_CTYPE");
        Process p = pb.start();
        p.getOutputStream().write("pw\n".getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        Result r = collect(p);
        assertEquals(ExitCodes.USAGE, r.status(), r.out() + r.err());
        assertTrue(r.err().contains("LC_ALL=C.UTF-8"), r.err());
    }

    /** Finding 8: a UTF-8 BOM locked the file's first user out; duplicates were taken silently. */
    @Test
    void aBomIsSkippedAndDuplicatesAreNamedInTheLog() throws Exception {
        Path users = dir.resolve("users.passwd");
        Files.writeString(users, "\uFEFFalice:{PLAIN}secret\nalice:{PLAIN}other\n", StandardCharsets.UTF_8);
        Files.setLastModifiedTime(users, FileTime.fromMillis(System.currentTimeMillis() - 10_000));
        Path log = dir.resolve("saslauth.log");
        Result r = runUnderSpawn(SESSION_HEAD + "AUTH\t1\tPLAIN\tresp=" + plain("alice", "secret") + "\n",
                "--passwd-file", users.toString(), "--log-file", log.toString());
        assertTrue(r.out().endsWith("DONE\nOK\t1\tuser=alice\n"), r.out());
        assertTrue(Files.readString(log).contains("line 2: user \"alice\" is listed again (first on line 1)"),
                Files.readString(log));
    }
}
