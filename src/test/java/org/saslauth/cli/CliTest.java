package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The command line as an administrator and Postfix use it, each case in its own JVM so that the
 * real stdin, stdout, stderr and exit status are what is checked.
 */
@Timeout(60)
class CliTest {

    @TempDir
    Path dir;

    record Result(int status, String out, String err) {}

    static Result run(String stdin, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xshare:auto", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), Saslauth.class.getName()));
        cmd.addAll(List.of(args));
        return exec(cmd, stdin);
    }

    /**
     * {@link #run} with stdin a file rather than a pipe: an administrator trying the command,
     * who gets a configuration error and its exit status rather than a helper that serves on.
     */
    static Result runFromFile(String stdin, String... args) throws IOException, InterruptedException {
        Path input = Files.createTempFile("saslauth-stdin", ".txt");
        try {
            Files.writeString(input, stdin);
            List<String> cmd = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xshare:auto", "-XX:TieredStopAtLevel=1",
                    "-cp", System.getProperty("java.class.path"), Saslauth.class.getName()));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).redirectInput(input.toFile()).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            byte[] err = p.getErrorStream().readAllBytes();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "process ended");
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8),
                    new String(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(input);
        }
    }

    /** Runs a command with {@code stdin} as its input and collects what it prints. */
    static Result exec(List<String> cmd, String stdin) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "process ended");
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8),
                new String(err, StandardCharsets.UTF_8));
    }

    Path passwd(String... lines) throws IOException {
        Path f = dir.resolve("users.passwd");
        Files.write(f, List.of(lines));
        return f;
    }

    static String plain(String user, String password) {
        return Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    static final String SESSION_HEAD = "VERSION\t1\t0\nCPID\t1\n";

    @Test
    void servesUntilEndOfInputWithNothingOnStderrEvenAtDebug() throws Exception {
        Path users = passwd("alice:{PLAIN}secret");
        Path log = dir.resolve("saslauth.log");
        String session = SESSION_HEAD
                + "AUTH\t5\tPLAIN\tservice=smtp\trip=192.0.2.7\tresp=" + plain("alice", "secret") + "\n"
                + "AUTH\t6\tPLAIN\tservice=smtp\trip=192.0.2.7\tresp=" + plain("alice", "wrong") + "\n"
                + "garbage line\n";
        Result r = run(session, "--passwd-file", users.toString(), "--failure-delay", "0",
                "--log-file", log.toString(), "--log-level", "debug");
        assertEquals(0, r.status());
        assertEquals("", r.err());
        String[] lines = r.out().split("\n");
        assertEquals("VERSION\t1\t2", lines[0]);
        assertEquals("MECH\tPLAIN\tplaintext", lines[1]);
        assertEquals("MECH\tLOGIN\tplaintext", lines[2]);
        assertTrue(lines[3].startsWith("SPID\t"));
        assertEquals("DONE", lines[6]);
        assertEquals("OK\t5\tuser=alice", lines[7]);
        assertEquals("FAIL\t6\tuser=alice\treason=Authentication failed", lines[8]);
        assertEquals(9, lines.length);
        String logged = Files.readString(log);
        assertTrue(logged.contains("auth ok: rip=192.0.2.7 mech=PLAIN user=\"alice\""), logged);
        assertTrue(logged.contains("auth failed: rip=192.0.2.7 mech=PLAIN user=\"alice\" id=6 reason=\"wrong password\""), logged);
        assertFalse(logged.contains("secret"), logged);
        assertFalse(logged.contains(plain("alice", "secret")) || logged.contains(plain("alice", "wrong")), logged);
        assertFalse(logged.replace("reason=\"wrong password\"", "").contains("wrong"),
                "the wrong password is not logged either: " + logged);
    }

    @Test
    void logFileIsAppendedNotTruncated() throws Exception {
        Path users = passwd("alice:{PLAIN}secret");
        Path log = dir.resolve("saslauth.log");
        Files.writeString(log, "earlier line\n");
        Result r = run(SESSION_HEAD, "--passwd-file", users.toString(), "--log-file", log.toString(),
                "--log-level", "debug");
        assertEquals(0, r.status());
        assertTrue(Files.readString(log).startsWith("earlier line\n"));
    }

    @Test
    void missingPasswdFileIsAConfigErrorThatReachesTheLog() throws Exception {
        Path log = dir.resolve("saslauth.log");
        Result r = runFromFile(SESSION_HEAD, "--passwd-file", dir.resolve("nope").toString(), "--log-file", log.toString());
        assertEquals(ExitCodes.CONFIG, r.status());
        assertEquals("", r.out(), "no handshake before the configuration is known to be good");
        assertTrue(Files.readString(log).contains("no such file"), Files.readString(log));
        assertTrue(r.err().contains("no such file"), "by hand, the error is shown too: " + r.err());
    }

    @Test
    void malformedPasswdLineNamesFileAndLine() throws Exception {
        Path users = passwd("# users", "alice:{PLAIN}secret", "bob has no colon");
        Result r = runFromFile(SESSION_HEAD, "--passwd-file", users.toString());
        assertEquals(ExitCodes.CONFIG, r.status());
        assertTrue(r.err().contains(users + " line 3"), r.err());
    }

    @Test
    void passwordMechanismsNeedAPasswdFileButOreoreAloneDoesNot() throws Exception {
        assertEquals(ExitCodes.CONFIG, runFromFile(SESSION_HEAD).status());
        Result r = run(SESSION_HEAD + "AUTH\t1\tOREORE\tresp=" + Base64.getEncoder().encodeToString("bob".getBytes()) + "\n",
                "--mechanisms", "oreore");
        assertEquals(0, r.status());
        assertTrue(r.out().contains("MECH\tOREORE\tplaintext\n"));
        assertTrue(r.out().endsWith("OK\t1\tuser=bob\n"), r.out());
    }

    @Test
    void optionsComeFromAConfigFileAndTheCommandLineWins() throws Exception {
        Path users = passwd("alice:{PLAIN}secret");
        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, "passwd-file = " + users + "\nmechanisms = LOGIN\nfailure-delay = 0\n");
        Result r = run(SESSION_HEAD, "--config", config.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("MECH\tLOGIN") && !r.out().contains("MECH\tPLAIN"), r.out());
        r = run(SESSION_HEAD, "--config", config.toString(), "--mechanisms", "PLAIN");
        assertTrue(r.out().contains("MECH\tPLAIN") && !r.out().contains("MECH\tLOGIN"), r.out());
    }

    @Test
    void unknownConfigKeyIsAConfigError() throws Exception {
        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, "passwd_file = /etc/users\n");
        Result r = runFromFile(SESSION_HEAD, "--config", config.toString());
        assertEquals(ExitCodes.CONFIG, r.status());
        assertTrue(r.err().contains("unknown key 'passwd_file'"), r.err());
    }

    @ParameterizedTest
    @CsvSource({
        "--mechanisms=PLAIN;DIGEST-MD5, 3",
        "--failure-delay=11s, 3",
        "--failure-delay=soon, 2",
        "--ipv6-prefix=0, 3",
        "--ipv6-prefix=129, 3",
        "--log-level=loud, 2",
        "--bogus, 2",
    })
    void badOptionsHaveTheirExitStatus(String arg, int status) throws Exception {
        Path users = passwd("alice:{PLAIN}secret");
        Result r = runFromFile(SESSION_HEAD, "--passwd-file", users.toString(), arg.replace(';', ','));
        assertEquals(status, r.status(), r.err());
        assertEquals("", r.out());
    }

    @Test
    void helpAndVersion() throws Exception {
        Result help = run("", "--help");
        assertEquals(0, help.status());
        assertTrue(help.out().contains("--passwd-file") && help.out().contains("Exit status:"));
        Result version = run("", "--version");
        assertEquals(0, version.status());
        assertTrue(version.out().matches("saslauth \\d+\\.\\d+\\.\\d+.*\\n"), version.out());
    }

    @Test
    void testCommandExitStatus() throws Exception {
        Path users = passwd("alice:{PLAIN}secret");
        Result ok = run("secret\n", "test", "--passwd-file", users.toString(), "alice");
        assertEquals(0, ok.status(), ok.out() + ok.err());
        assertTrue(ok.out().contains("auth succeeded"));
        Result bad = run("nope\n", "test", "--passwd-file", users.toString(), "alice");
        assertEquals(1, bad.status());
        assertFalse(bad.out().contains("nope"));
        assertEquals(1, run("secret\n", "test", "--passwd-file", users.toString(), "bob").status());
        assertEquals(ExitCodes.CONFIG, run("secret\n", "test", "--passwd-file", dir.resolve("x").toString(), "alice").status());
        assertEquals(ExitCodes.USAGE, run("secret\n", "test", "--passwd-file", users.toString()).status());
    }

    @Test
    void aLockedAccountFailsLikeAWrongPassword() throws Exception {
        Path users = passwd("alice:!$1$C3HBaDbH$fqxd7TmqmuHgkSLtuCfJe.:1000:1000::/home/alice:/bin/sh", "bob:*");
        for (String user : List.of("alice", "bob")) {
            Result r = run("secret\n", "test", "--passwd-file", users.toString(), user);
            assertEquals(ExitCodes.LOGIN_REFUSED, r.status(), r.out() + r.err());
            assertEquals("auth failed: user=" + user + " (wrong password)\n", r.out());
        }
    }

    @Test
    void testCommandReadsTheServersConfig() throws Exception {
        Path users = passwd("alice@example.org:{PLAIN}secret");
        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, "passwd-file = " + users + "\ndefault-realm = example.org\nusername-format = lowercase\n");
        Result r = run("secret\n", "test", "--config", config.toString(), "ALICE");
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("user=alice@example.org"), r.out());
    }

    /** {@code saslauth test USER} with no option reads the packaged config file, as the helper would. */
    @Test
    void testWithoutOptionsReadsThePackagedConfig() throws Exception {
        Path users = passwd("alice@example.org:{PLAIN}secret");
        Path config = dir.resolve("packaged.properties");
        Files.writeString(config, "passwd-file = " + users + "\ndefault-realm = example.org\n");
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-Dsaslauth.packaged-config=" + config,
                "-cp", System.getProperty("java.class.path"), Saslauth.class.getName(), "test", "alice"));
        Result r = exec(cmd, "secret\n");
        assertEquals(0, r.status(), r.out() + r.err());
        assertEquals("auth succeeded: user=alice@example.org\n", r.out());
        // an option of its own: the packaged file is not read (no passdb given: a usage error)
        cmd.addAll(cmd.size() - 1, List.of("--username-format", "lowercase"));
        Result own = exec(cmd, "secret\n");
        assertNotEquals(0, own.status(), own.out());
        // no packaged file: as before, a passdb is needed
        cmd.set(3, "-Dsaslauth.packaged-config=" + dir.resolve("absent.properties"));
        cmd.subList(cmd.size() - 3, cmd.size() - 1).clear();
        Result none = exec(cmd, "secret\n");
        assertEquals(ExitCodes.CONFIG, none.status(), none.out() + none.err());
        assertTrue(none.err().contains("--passwd-file is required"), none.err());
    }

    /**
     * The packaged config file is shared by the helpers, {@code test} and the daemon: the
     * daemon's keys, even values the daemon would refuse, are passed over by the others, on
     * the fast path and on picocli's (taken when the file has something to warn about).
     */
    @ParameterizedTest
    @CsvSource({"fast path, ''", "picocli, log-level = info"})
    void aHelperAndTestReadTheDaemonsConfigFile(String path, String extraLine) throws Exception {
        Path users = passwd("alice:{PLAIN}secret");
        Path log = dir.resolve("saslauth.log");
        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, "passwd-file = " + users + "\nfailure-delay = 0\nlog-file = " + log + "\nlog-level = info\n"
                + "listen = unix:" + dir.resolve("auth") + ", tcp:127.0.0.1:12345\nuserdb-listen = unix:" + dir.resolve("userdb")
                + "\nsocket-mode = 0999\nsocket-group = saslauth-clients\nallow-from = 192.0.2.0/24\n"
                + "userdb-socket-mode = 0999\nuserdb-socket-user = no-such-user\n"
                + "max-connections = 0\nworkers = 4\n" + extraLine + "\n");
        Result r = runUnderSpawn(SESSION_HEAD + "AUTH\t1\tPLAIN\tservice=smtp\tresp=" + plain("alice", "secret") + "\n",
                "--config", config.toString());
        assertEquals(0, r.status(), r.out());
        assertTrue(r.out().startsWith("VERSION\t1\t2\n") && r.out().endsWith("DONE\nOK\t1\tuser=alice\n"), r.out());
        assertEquals(!extraLine.isEmpty(), Files.readString(log).contains("'log-level' is set more than once"),
                "the " + path + " was taken");
        assertFalse(Files.exists(dir.resolve("auth")), "a helper binds nothing");
        Result t = run("secret\n", "test", "--config", config.toString(), "alice");
        assertEquals(0, t.status(), t.out() + t.err());
        assertTrue(t.out().contains("auth succeeded: user=alice"), t.out());
    }

    /** The daemon's keys in the file keep a helper on the fast path: no picocli, no daemon class. */
    @Test
    void aHelperPassingOverTheDaemonsKeysLoadsNoPicocliOrDaemonClass() throws Exception {
        Path users = passwd("alice:{PLAIN}secret");
        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, "passwd-file = " + users + "\nfailure-delay = 0\nlisten = unix:/run/saslauth/auth\n"
                + "socket-mode = 0660\nallow-from = 127.0.0.1\nuserdb-listen = unix:/run/saslauth/userdb\nworkers = 2\n"
                + "userdb-socket-mode = 0600\nuserdb-socket-group = mail\n");
        Path classes = dir.resolve("classes.txt");
        Result r = exec(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xlog:class+load=info:file=" + classes, "-cp", System.getProperty("java.class.path"),
                Saslauth.class.getName(), "--config", config.toString()),
                SESSION_HEAD + "AUTH\t1\tPLAIN\tresp=" + plain("alice", "secret") + "\n");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().endsWith("OK\t1\tuser=alice\n"), r.out());
        String loaded = Files.readString(classes);
        assertTrue(loaded.contains(" org.saslauth.cli.ServingArgs "), "the log lists classes");
        for (String prefix : new String[] {"picocli.", "org.saslauth.daemon.", "org.saslauth.cli.OptionTable"}) {
            assertFalse(loaded.contains(" " + prefix), prefix + " was loaded");
        }
    }

    /**
     * A passdb that only checks passwords cannot serve CRAM-MD5 or SCRAM: the helper used to
     * greet and fail every such login; now it refuses to start, before any handshake.
     */
    @ParameterizedTest
    @CsvSource({"CRAM-MD5", "'PLAIN,SCRAM-SHA-256'"})
    void aMechanismThePassdbCannotServeIsExitStatus3(String mechanisms) throws Exception {
        Result r = runFromFile(SESSION_HEAD, "--mechanisms", mechanisms, "--passdb", "checkpassword",
                "--checkpassword-program", "/bin/true", "--failure-delay", "0");
        assertEquals(ExitCodes.CONFIG, r.status(), r.out() + r.err());
        assertEquals("", r.out(), "no handshake");
        String named = mechanisms.replace("PLAIN,", "");
        assertTrue(r.err().contains("--mechanisms " + named + " cannot be served by --passdb checkpassword"), r.err());
        assertTrue(r.err().contains("offer PLAIN and LOGIN only"), r.err());
        Result plain = run(SESSION_HEAD, "--mechanisms", "PLAIN,LOGIN", "--passdb", "checkpassword",
                "--checkpassword-program", "/bin/true");
        assertEquals(0, plain.status(), plain.err());
        assertTrue(plain.out().startsWith("VERSION\t1\t2\n"), plain.out());
    }

    /** {@code test} reading the server's config file refuses what the server would refuse. */
    @Test
    void testRefusesAConfigFileWhosePassdbCannotServeItsMechanisms() throws Exception {
        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, "mechanisms = PLAIN,CRAM-MD5\npassdb = checkpassword\n"
                + "checkpassword-program = /bin/true\n");
        Result r = run("secret\n", "test", "--config", config.toString(), "alice");
        assertEquals(ExitCodes.CONFIG, r.status(), r.out() + r.err());
        assertTrue(r.err().contains("saslauth test: --mechanisms CRAM-MD5 cannot be served by --passdb checkpassword"),
                r.err());
        Result helper = runFromFile(SESSION_HEAD, "--config", config.toString());
        assertEquals(ExitCodes.CONFIG, helper.status(), "the server refuses it too: " + helper.out());
        Result served = run(SESSION_HEAD, "--config", config.toString());
        assertEquals(0, served.status(), "a helper Postfix runs serves what it can: " + served.err());
        assertTrue(served.out().contains("MECH\tPLAIN\t") && !served.out().contains("CRAM-MD5"), served.out());
    }

    @Test
    void hashThenTest() throws Exception {
        Result h = run("pässword 1\n", "hash");
        assertEquals(0, h.status(), h.err());
        String[] lines = h.out().split("\n");
        String hash = lines[lines.length - 1];
        assertTrue(hash.startsWith("{SHA512-CRYPT}$6$"), hash);
        Path users = passwd("alice:" + hash);
        assertEquals(0, run("pässword 1\n", "test", "--passwd-file", users.toString(), "alice").status());
        assertEquals(1, run("pässword 2\n", "test", "--passwd-file", users.toString(), "alice").status());
        Result unknown = run("x\n", "hash", "--scheme", "NOPE");
        assertEquals(ExitCodes.USAGE, unknown.status());
        Result none = run("", "hash");
        assertEquals(ExitCodes.USAGE, none.status(), "no input is no password, not the empty one");
        assertEquals("", none.out());
        Result empty = run("\n", "hash", "--scheme", "PLAIN");
        assertEquals(ExitCodes.USAGE, empty.status());
        assertEquals("", empty.out());
        assertTrue(empty.err().contains("empty password"), empty.err());
        Result allowed = run("\n", "hash", "--scheme", "PLAIN", "--allow-empty");
        assertEquals(0, allowed.status(), allowed.err());
        assertEquals("{PLAIN}\n", allowed.out());
    }

    @Test
    void theSampleSessionGivesTheDocumentedAnswers() throws Exception {
        String session = Files.readString(Path.of("examples/session.txt"));
        Result r = run(session, "--passwd-file", "examples/users.passwd", "--failure-delay", "0");
        assertEquals(0, r.status(), r.err());
        // each id's replies in order; different ids' replies in the order their checks end
        String after = r.out().substring(r.out().indexOf("DONE\n") + 5);
        java.util.Map<String, List<String>> byId = new java.util.TreeMap<>();
        after.lines().forEach(l -> byId.computeIfAbsent(l.split("\t")[1], k -> new ArrayList<>()).add(l));
        assertEquals(java.util.Map.of(
                "1", List.of("OK\t1\tuser=alice"),
                "2", List.of("FAIL\t2\tuser=alice\treason=Authentication failed"),
                "3", List.of("CONT\t3\tVXNlcm5hbWU6", "CONT\t3\tUGFzc3dvcmQ6", "OK\t3\tuser=bob"),
                "4", List.of("FAIL\t4\tuser=nobody\treason=Authentication failed")), byId, r.out());
        assertTrue(new File("examples/saslauth").canExecute());
    }

    /** Dates a change two seconds back, so that the helper's next recheck reads it (PasswdFile.SETTLE). */
    private static void settled(Path file) throws Exception {
        Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 2000));
    }

    /** How often {@code text} occurs in the log file, or 0 before it exists. */
    private static int occurrences(Path log, String text) throws IOException {
        String logged = Files.exists(log) ? Files.readString(log) : "";
        int n = 0;
        for (int i = logged.indexOf(text); i >= 0; i = logged.indexOf(text, i + text.length())) {
            n++;
        }
        return n;
    }

    /**
     * Logs in until {@code done} holds, each answer checked by {@code expected}: the helper looks
     * at the passwd file again from a login, once its recheck interval (PasswdFile.RECHECK, 1 s)
     * has passed, so the logins are what makes it look. At most 20 s.
     */
    private static void loginUntil(java.util.function.Supplier<String> login, java.util.function.Predicate<String> expected,
            String what, java.util.concurrent.Callable<Boolean> done) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!done.call()) {
            String answer = login.get();
            assertTrue(expected.test(answer), what + ": " + answer);
            assertTrue(System.nanoTime() < deadline, what + ": the helper never looked at the file again");
        }
    }

    /**
     * The passwd file deleted, made unreadable (a directory in its place: root reads any file),
     * broken and replaced while a helper serves: the last good version keeps working, the log
     * says why, and a good replacement is picked up without a restart.
     */
    @Test
    void passwdFileFaultsWhileServing() throws Exception {
        Path users = passwd("alice:{PLAIN}secret");
        Path log = dir.resolve("saslauth.log");
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Saslauth.class.getName(),
                "--passwd-file", users.toString(), "--failure-delay", "0", "--auth-penalty", "false",
                "--max-auth-rate", "0", "--log-file", log.toString(), "--log-level", "warn"));
        Process p = new ProcessBuilder(cmd).start();
        try {
            var in = p.getOutputStream();
            var out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            in.write(SESSION_HEAD.getBytes(StandardCharsets.UTF_8));
            in.flush();
            while (!out.readLine().equals("DONE")) {
                // handshake
            }
            int[] id = {0};
            java.util.function.BiFunction<String, String, String> login = (user, password) -> {
                try {
                    id[0]++;
                    in.write(("AUTH\t" + id[0] + "\tPLAIN\trip=192.0.2.5\tresp=" + plain(user, password) + "\n")
                            .getBytes(StandardCharsets.UTF_8));
                    in.flush();
                    return out.readLine().replace("\t" + id[0] + "\t", " ");
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            };
            java.util.function.Supplier<String> alice = () -> login.apply("alice", "secret");
            String kept = "keeping the last good version";
            assertEquals("OK user=alice", alice.get());

            // Each change is made to look settled (older than PasswdFile.SETTLE), and each wait
            // ends when the helper has logged that it looked at the file again.
            Files.delete(users);
            loginUntil(alice, "OK user=alice"::equals, "deleted: last good version", () -> occurrences(log, kept) == 1);
            assertEquals("OK user=alice", alice.get(), "deleted: last good version");

            Files.createDirectory(users);
            settled(users);
            loginUntil(alice, "OK user=alice"::equals, "unreadable: last good version", () -> occurrences(log, kept) == 2);
            assertEquals("OK user=alice", alice.get(), "unreadable: last good version");
            Files.delete(users);

            Files.writeString(users, "alice:{NOSUCHSCHEME}x\n");
            settled(users);
            loginUntil(alice, "OK user=alice"::equals, "broken: last good version", () -> occurrences(log, kept) == 3);
            assertEquals("OK user=alice", alice.get(), "broken: last good version");

            Files.writeString(users, "bob:{PLAIN}other\n");
            settled(users);
            String[] bob = {""};
            loginUntil(() -> bob[0] = login.apply("bob", "other"), a -> a.equals("OK user=bob") || a.startsWith("FAIL"),
                    "a good replacement is read", () -> bob[0].equals("OK user=bob"));
            assertEquals("OK user=bob", login.apply("bob", "other"), "a good replacement is read");
            assertTrue(alice.get().startsWith("FAIL"), "and replaces the old users");

            in.close();
            assertTrue(p.waitFor(10, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue());
            assertEquals("", new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            String logged = Files.readString(log);
            assertTrue(logged.contains(kept), logged);
            assertTrue(logged.contains("NOSUCHSCHEME"), "the log says why: " + logged);
            assertFalse(logged.contains("secret") || logged.contains("other\""), logged);
        } finally {
            p.destroyForcibly();
        }
    }

    /**
     * Issue 21: a passwd file missing when a helper starts on a pipe used to leave every login of
     * that helper a temporary failure for its whole life (a daemon's until its reload); now the
     * helper greets, fails logins as temporary, and serves the file once it appears.
     */
    @Test
    void aPasswdFileMissingAtStartIsServedOnceItAppears() throws Exception {
        Path users = dir.resolve("later.passwd");
        Path log = dir.resolve("saslauth.log");
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Saslauth.class.getName(),
                "--passwd-file", users.toString(), "--failure-delay", "0", "--auth-penalty", "false",
                "--max-auth-rate", "0", "--log-file", log.toString(), "--log-level", "info"));
        Process p = new ProcessBuilder(cmd).start();
        try {
            var in = p.getOutputStream();
            var out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            in.write(SESSION_HEAD.getBytes(StandardCharsets.UTF_8));
            in.flush();
            while (!out.readLine().equals("DONE")) {
                // handshake
            }
            int[] id = {0};
            String[] last = {""};
            java.util.function.Supplier<String> alice = () -> {
                try {
                    id[0]++;
                    in.write(("AUTH\t" + id[0] + "\tPLAIN\trip=192.0.2.5\tresp=" + plain("alice", "secret") + "\n")
                            .getBytes(StandardCharsets.UTF_8));
                    in.flush();
                    return last[0] = out.readLine().replace("\t" + id[0] + "\t", " ");
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            };
            String tempFail = "FAIL reason=Temporary authentication failure\tcode=temp_fail";
            assertEquals(tempFail, alice.get().replace("user=alice\t", ""), "no file yet");
            Files.writeString(users, "alice:{PLAIN}secret\n");
            loginUntil(alice, a -> a.equals("OK user=alice") || a.replace("user=alice\t", "").equals(tempFail),
                    "the file appears", () -> last[0].equals("OK user=alice"));
            in.close();
            assertTrue(p.waitFor(10, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue());
            assertEquals("", new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            String logged = Files.readString(log);
            assertTrue(logged.contains("every login gets a temporary failure until this is fixed"), logged);
            assertTrue(logged.contains("can be read now"), logged);
            assertFalse(logged.contains("secret"), logged);
        } finally {
            p.destroyForcibly();
        }
    }

    /**
     * python3 running {@code argv[1:]} with stdin, stdout and stderr all one UNIX socket, as
     * spawn(8) does: sends its own stdin down the socket, prints everything that came back, and
     * exits with the command's status (124 when it still ran 30 s after its input ended).
     */
    static final String SPAWN_SOCKET = String.join("\n",
            "import socket, subprocess, sys",
            "a, b = socket.socketpair()",
            "p = subprocess.Popen(sys.argv[1:], stdin=b, stdout=b, stderr=b)",
            "b.close()",
            "a.sendall(sys.stdin.buffer.read())",
            "a.shutdown(socket.SHUT_WR)",
            "a.settimeout(30)",
            "out = b''",
            "try:",
            "    while True:",
            "        d = a.recv(65536)",
            "        if not d: break",
            "        out += d",
            "except (ConnectionResetError, socket.timeout):  # it exited without reading all, or hangs",
            "    pass",
            "try:",
            "    status = p.wait(timeout=30)",
            "except subprocess.TimeoutExpired:",
            "    p.kill(); p.wait(); status = 124",
            "sys.stdout.buffer.write(out)",
            "sys.exit(status)");

    /** Runs saslauth's main class under {@link #SPAWN_SOCKET}; returns what came back on the socket. */
    static Result runUnderSpawn(String stdin, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("python3", "-c", SPAWN_SOCKET,
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Saslauth.class.getName()));
        cmd.addAll(List.of(args));
        return exec(cmd, stdin);
    }

    /** Under spawn, a configuration or usage error never reaches smtpd's socket; the log says why. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "config   | bogus = 1                 |                     | 0 | unknown key 'bogus'",
        "badconfig | mechanisms = PLAIN\\u12  |                     | 0 | cannot read config file",
        "config   | scheme = PLAIN            |                     | 0 | unknown key 'scheme'",
        "args     |                           | --failure-delay=-5ms | 0 | not a duration",
        "args     |                           | --no-such-option     | 0 | Unknown option",
        "args     |                           | --log-level=loud     | 0 | 'loud' is not one of trace, debug",
        "passwd   |                           |                     | 0 | no such file",
    })
    void startupErrorsUnderSpawnGoToTheLogNotTheSocket(String kind, String configLine, String arg, int status,
            String logged) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(new File("/usr/bin/python3").canExecute()
                || System.getenv("PATH").contains("python"), "python3 makes the socket pair");
        Path log = dir.resolve("saslauth.log");
        Path config = dir.resolve("saslauth.properties");
        Path users = kind.equals("passwd") ? dir.resolve("missing") : passwd("alice:{PLAIN}secret");
        Files.writeString(config, "passwd-file = " + users + "\nlog-file = " + log + "\n"
                + (configLine == null ? "" : configLine.replace("\\\\", "\\") + "\n"));
        List<String> args = new ArrayList<>(List.of("--config", config.toString()));
        if (arg != null) {
            args.add(arg);
        }
        if (kind.equals("badconfig")) { // the file that would name the log cannot be read
            args.add("--log-file=" + log);
        }
        Result r = runUnderSpawn(SESSION_HEAD + "AUTH\t1\tPLAIN\tresp=" + plain("alice", "secret") + "\n",
                args.toArray(new String[0]));
        assertEquals(status, r.status(), r.out());
        assertTrue(r.out().startsWith("VERSION\t1\t2\nMECH\tPLAIN\tplaintext\n"), "a handshake, protocol lines only: " + r.out());
        assertTrue(r.out().endsWith("DONE\nFAIL\t1\treason=Temporary authentication failure\tcode=temp_fail\n")
                || r.out().endsWith("DONE\nFAIL\t1\tuser=alice\treason=Temporary authentication failure\tcode=temp_fail\n"),
                r.out());
        assertTrue(Files.exists(log), "a log file was written");
        String text = Files.readString(log);
        assertTrue(text.contains(logged), text);
        assertEquals(1, text.split("every login gets a temporary failure", -1).length - 1, "the reason once: " + text);
    }

    /**
     * Issue 21: a helper on a pipe whose configuration cannot be used used to exit 3 before its
     * handshake, and Postfix refused every session on the port; now it greets, answers AUTH with
     * a temporary failure (or serves the mechanisms it can), logs the reason once and exits 0,
     * with nothing on stderr.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "failure_delay = 0                     | temp_fail | unknown key 'failure_delay' (did you mean 'failure-delay'?)",
        "failure-delay = soon                  | temp_fail | line 2: failure-delay: 'soon' is not a duration",
        "max-pending = 0x20                    | temp_fail | line 2: max-pending: '0x20' is not a whole number",
        "auth-penalty = yes                    | temp_fail | line 2: auth-penalty: 'yes' is not true or false",
        "passdb = sqll                         | temp_fail | passdb must be passwd-file, sql, ldap, checkpassword, shadow or pam, not 'sqll' (did you mean 'sql'?)",
        "mechanisms = PLAIN,LOGN               | OK        | unknown mechanism 'LOGN' (did you mean 'LOGIN'?); it is not offered",
        "mechanisms = OREORE,PLAIN\\nfailure_delay = 0 | temp_fail | unknown key 'failure_delay' (did you mean",
    })
    void aBrokenConfigurationOnAPipeGreetsAndFailsAuthAsTemporary(String lines, String answer, String logged)
            throws Exception {
        Path users = passwd("alice:{PLAIN}secret");
        Path log = dir.resolve("saslauth.log");
        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, "passwd-file = " + users + "\n" + lines.replace("\\n", "\n") + "\nlog-file = " + log + "\n");
        Result r = run(SESSION_HEAD + "AUTH\t1\tPLAIN\tresp=" + plain("alice", "secret") + "\n", "--config", config.toString());
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err());
        assertTrue(r.out().startsWith("VERSION\t1\t2\nMECH\tPLAIN\tplaintext\n"), r.out());
        assertFalse(r.out().contains("OREORE"), "never a mechanism without a password while degraded: " + r.out());
        assertTrue(r.out().endsWith(answer.equals("OK") ? "DONE\nOK\t1\tuser=alice\n"
                : "DONE\nFAIL\t1\tuser=alice\treason=Temporary authentication failure\tcode=temp_fail\n"), r.out());
        String text = Files.readString(log);
        assertEquals(1, text.split(java.util.regex.Pattern.quote(logged), -1).length - 1, "once: " + text);
        assertTrue(text.lines().anyMatch(l -> l.contains(" ERROR ") && l.contains(logged)), text);
    }

    /**
     * Issue 21: a log file that cannot be opened (its directory missing, or not writable by the
     * helper's user) used to be exit status 3 before the handshake; now the helper greets and
     * fails every login as temporary (without its log, fail2ban would see no failure), exit 0,
     * nothing on stderr.
     */
    @Test
    void aLogFileThatCannotBeOpenedOnAPipeGreetsAndFailsAuthAsTemporary() throws Exception {
        Path users = passwd("alice:{PLAIN}secret");
        Path log = dir.resolve("no-such-dir").resolve("saslauth.log");
        Result r = run(SESSION_HEAD + "AUTH\t1\tPLAIN\tresp=" + plain("alice", "secret") + "\n",
                "--passwd-file", users.toString(), "--log-file", log.toString(), "--failure-delay", "0");
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err());
        assertTrue(r.out().startsWith("VERSION\t1\t2\nMECH\tPLAIN\tplaintext\n"), r.out());
        assertTrue(r.out().endsWith("DONE\nFAIL\t1\tuser=alice\treason=Temporary authentication failure\tcode=temp_fail\n"),
                r.out());
        assertFalse(Files.exists(log));
    }

    /** CRAM-MD5 on checkpassword: PLAIN and LOGIN are offered, and the reason logged. */
    @Test
    void aMechanismThePassdbCannotServeIsLeftOutOnAPipe() throws Exception {
        Path log = dir.resolve("saslauth.log");
        Result r = run(SESSION_HEAD, "--mechanisms", "CRAM-MD5", "--passdb", "checkpassword",
                "--checkpassword-program", "/bin/true", "--log-file", log.toString());
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err());
        assertTrue(r.out().startsWith("VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\n"), r.out());
        assertFalse(r.out().contains("CRAM-MD5"), r.out());
        assertTrue(Files.readString(log).contains("--mechanisms CRAM-MD5 cannot be served by --passdb checkpassword"),
                Files.readString(log));
    }

    /**
     * Issue 10, finding 6: {@code --config /dev/zero} under spawn used to write a Java stack trace
     * (OutOfMemoryError) onto smtpd's socket; now it is status 3 and nothing on the socket.
     */
    @ParameterizedTest
    @CsvSource({"/dev/zero", "/dev/null", "/"})
    void aConfigFileThatIsNoRegularFileIsAConfigError(String path) throws Exception {
        Result r = runUnderSpawn(SESSION_HEAD, "--config", path, "--log-file", dir.resolve("log").toString());
        assertEquals(0, r.status(), r.out());
        assertTrue(r.out().startsWith("VERSION\t1\t2\n") && r.out().endsWith("DONE\n"), "protocol lines only: " + r.out());
        assertTrue(Files.readString(dir.resolve("log")).contains("is not a regular file"));
    }

    @Test
    void aKeyGivenTwiceInTheConfigFileIsLogged() throws Exception {
        Path users = passwd("alice:{PLAIN}secret");
        Path log = dir.resolve("saslauth.log");
        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, "passwd-file = " + users + "\nlog-file = " + log
                + "\nfailure-delay = 1s\nfailure-delay = 0\n");
        Result r = run(SESSION_HEAD + "AUTH\t1\tPLAIN\tresp=" + plain("alice", "wrong") + "\n", "--config", config.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(Files.readString(log).contains("'failure-delay' is set more than once; the last line wins"),
                Files.readString(log));
    }

    @Test
    void servingUnderSpawnPutsOnlyProtocolLinesOnTheSocket() throws Exception {
        Path users = passwd("alice:{PLAIN}secret");
        Result r = runUnderSpawn(SESSION_HEAD + "AUTH\t1\tPLAIN\tresp=" + plain("alice", "secret") + "\n",
                "--passwd-file", users.toString(), "--log-level", "trace");
        assertEquals(0, r.status());
        assertTrue(r.out().startsWith("VERSION\t1\t2\nMECH\tPLAIN\tplaintext\n"), r.out());
        assertTrue(r.out().endsWith("DONE\nOK\t1\tuser=alice\n"), r.out());
    }
}
