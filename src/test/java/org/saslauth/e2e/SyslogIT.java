package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --syslog-facility}: a syslog socket that the test binds (python3, a UNIX datagram socket
 * writing each datagram it receives as a line of a file), and {@code target/saslauth.jar} run as
 * a helper in its own JVM, on this Java 17 (through JNA) and on a JDK 22 or later under
 * /usr/lib/jvm (through FFM), and as the daemon.
 */
@Timeout(120)
class SyslogIT {

    private static final Path JAR = DaemonProcess.projectDir().resolve("target/saslauth.jar").toAbsolutePath();
    private static final String PASSWORD = "s3cret-Pa55";
    /** {@code <PRI>Mmm dd hh:mm:ss saslauth[PID]: message}, as glibc's syslog(3) sends it. */
    private static final Pattern DATAGRAM =
            Pattern.compile("<(\\d+)>(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3]\\d \\d\\d:\\d\\d:\\d\\d"
                    + " saslauth\\[(\\d+)\\]: (.*)");
    /** A line of the log file: {@code TIME LEVEL saslauth[PID] - message}. */
    private static final Pattern FILE_LINE = Pattern.compile("\\S+ (ERROR|WARN|INFO|DEBUG|TRACE) saslauth\\[(\\d+)\\] - (.*)");

    @TempDir
    Path dir;

    private Process receiver;

    @AfterEach
    void stopReceiver() throws InterruptedException {
        if (receiver != null && receiver.isAlive()) {
            receiver.destroy();
            receiver.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** A syslog socket at {@code socket}: each datagram becomes a line of {@code received}. */
    private void bind(Path socket, Path received) throws Exception {
        if (!Files.isExecutable(Path.of("/usr/bin/python3"))) {
            String why = "no python3 to bind the syslog socket";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail(why + " (CI=true: this test must run)");
            }
            Assumptions.abort(why);
        }
        receiver = new ProcessBuilder("python3", "-c", String.join("\n",
                "import socket, sys",
                "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
                "s.bind(sys.argv[1])",
                "with open(sys.argv[2], 'ab', buffering=0) as f:",
                "    while True:",
                "        f.write(s.recv(65536) + b'\\n')"), socket.toString(), received.toString())
                .redirectOutput(dir.resolve("receiver.out").toFile())
                .redirectErrorStream(true)
                .start();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!Files.exists(socket)) {
            assertTrue(receiver.isAlive() && System.nanoTime() < deadline, "the syslog receiver binds " + socket);
            Thread.sleep(20);
        }
        Files.writeString(received, "", java.nio.file.StandardOpenOption.CREATE);
    }

    record Run(long pid, int status, String out, String err, List<String> classes) {}

    /** The jar as a helper on {@code java}, its input {@code session}, classes loaded logged. */
    private Run helper(Path java, String session, String... args) throws Exception {
        return helper(java, List.of(), session, args);
    }

    /** The same, with JVM options before {@code -jar}. */
    private Run helper(Path java, List<String> jvm, String session, String... args) throws Exception {
        Path classes = dir.resolve("classes-" + System.nanoTime() + ".txt");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Xlog:class+load:file=" + classes));
        cmd.addAll(jvm);
        cmd.addAll(List.of("-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        if (!Files.isReadable(JAR)) {
            fail(JAR + " is missing: run the integration tests through `mvn verify`");
        }
        Process p = new ProcessBuilder(cmd).start();
        try {
            p.getOutputStream().write(session.getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the helper ended");
            return new Run(p.pid(), p.exitValue(), out, err, Files.readAllLines(classes));
        } finally {
            p.destroyForcibly();
        }
    }

    private static String session() {
        return "VERSION\t1\t0\nCPID\t4242\n"
                + "AUTH\t1\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.10\tresp=" + plain("alice", PASSWORD) + "\n"
                + "AUTH\t2\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.11\tresp=" + plain("alice", "wrong-" + PASSWORD) + "\n"
                + "AUTH\t3\tLOGIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.12\n"
                + "CONT\t3\t" + b64("bob") + "\n"
                + "CONT\t3\t" + b64(PASSWORD) + "\n";
    }

    private static String plain(String user, String password) {
        return b64("\0" + user + "\0" + password);
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aHelperOnJava17SendsEveryLineToSyslogThroughJna() throws Exception {
        Run run = loginsWithSyslog(Path.of(System.getProperty("java.home"), "bin", "java"));
        assertTrue(run.classes().stream().anyMatch(l -> l.contains("com.sun.jna.Native ")), "JNA sends on Java 17");
    }

    /** JNA on JDK 22 and later too: FFM is loaded only where JNA cannot be. */
    @Test
    void aHelperOnJdk22OrLaterSendsEveryLineToSyslogThroughJnaWithoutLoadingFfm() throws Exception {
        Run run = loginsWithSyslog(jdk22OrLater());
        assertTrue(run.classes().stream().anyMatch(l -> l.contains("com.sun.jna.Native ")), "JNA sends");
        assertFalse(run.classes().stream().anyMatch(l -> l.contains("java.lang.foreign.Linker ")), "no FFM");
    }

    @Test
    void aHelperOnJdk22OrLaterSendsEveryLineToSyslogThroughFfmWhereJnaIsNotUsed() throws Exception {
        Run run = loginsWithSyslog(jdk22OrLater(), "-Dsaslauth.native=ffm");
        assertFalse(run.classes().stream().anyMatch(l -> l.contains("com.sun.jna")), "no JNA where FFM is");
        assertTrue(run.classes().stream().anyMatch(l -> l.contains("java.lang.foreign.Linker ")), "FFM sends");
    }

    private static Path jdk22OrLater() {
        Optional<Path> java = newJdk();
        if (java.isEmpty()) {
            String why = "no JDK 22 or later under /usr/lib/jvm: syslog on it is not tested";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail(why + " (CI=true: this test must run)");
            }
            Assumptions.abort(why);
        }
        return java.get();
    }

    /**
     * Logins at debug level, with OREORE offered (a warning) and a config file whose mechanism
     * list has one that does not exist (an error): every line of the log file reaches syslog, in
     * order, with the mail facility and the level's severity, tagged with the helper's pid; no
     * password in any; stderr empty, stdout protocol lines only.
     */
    private Run loginsWithSyslog(Path java, String... jvm) throws Exception {
        Path socket = dir.resolve("log");
        Path received = dir.resolve("received.txt");
        bind(socket, received);
        Path users = Files.writeString(dir.resolve("users.passwd"), "alice:{PLAIN}" + PASSWORD + "\nbob:{PLAIN}" + PASSWORD + "\n");
        Path log = dir.resolve("saslauth.log");
        Run run = helper(java, List.of(jvm), session(), "--passwd-file", users.toString(), "--failure-delay", "0",
                "--mechanisms", "PLAIN,LOGIN,OREORE,NOPE", "--log-file", log.toString(), "--log-level", "debug",
                "--syslog-facility", "mail", "--syslog-socket", socket.toString());
        assertEquals("", run.err(), "nothing on stderr");
        for (String line : run.out().split("\n")) {
            assertTrue(line.matches("(VERSION|MECH|SPID|CUID|COOKIE|DONE|OK|FAIL|CONT)(\t.*)?"), "a protocol line: " + line);
        }
        assertTrue(run.out().contains("OK\t1\tuser=alice") && run.out().contains("FAIL\t2\t")
                && run.out().contains("OK\t3\tuser=bob"), run.out());
        assertEquals(0, run.status());

        List<String[]> expected = new ArrayList<>();
        for (String line : Files.readAllLines(log)) {
            Matcher m = FILE_LINE.matcher(line);
            assertTrue(m.matches(), "a log line: " + line);
            int severity = switch (m.group(1)) {
                case "ERROR" -> 3;
                case "WARN" -> 4;
                case "INFO" -> 6;
                default -> 7;
            };
            expected.add(new String[] {String.valueOf(2 * 8 + severity), m.group(2), m.group(3)});
        }
        List<String> datagrams = awaitLines(received, expected.size());
        assertEquals(expected.size(), datagrams.size(), "one datagram per log line: " + datagrams);
        boolean[] severities = new boolean[8];
        for (int i = 0; i < datagrams.size(); i++) {
            Matcher m = DATAGRAM.matcher(datagrams.get(i));
            assertTrue(m.matches(), "RFC 3164 as glibc sends it: " + datagrams.get(i));
            assertEquals(expected.get(i)[0], m.group(1), "mail facility and the level's severity: " + datagrams.get(i));
            assertEquals(String.valueOf(run.pid()), m.group(3), "tagged with the helper's pid");
            assertEquals(expected.get(i)[2], m.group(4));
            severities[Integer.parseInt(m.group(1)) - 16] = true;
            assertFalse(datagrams.get(i).contains(PASSWORD) || datagrams.get(i).contains(b64(PASSWORD))
                    || datagrams.get(i).contains(plain("alice", PASSWORD)), "no password: " + datagrams.get(i));
        }
        assertTrue(severities[3] && severities[4] && severities[6] && severities[7],
                "err, warning, info and debug lines: " + datagrams);
        assertTrue(datagrams.stream().anyMatch(d -> d.endsWith(": auth failed: rip=192.0.2.11 mech=PLAIN user=\"alice\" id=2"
                + " reason=\"wrong password\"")), datagrams.toString());
        return run;
    }

    @Test
    void withoutSyslogNoNativeClassLoads() throws Exception {
        Path users = Files.writeString(dir.resolve("users.passwd"), "alice:{PLAIN}" + PASSWORD + "\n");
        Run run = helper(Path.of(System.getProperty("java.home"), "bin", "java"), session(),
                "--passwd-file", users.toString(), "--failure-delay", "0", "--log-file", dir.resolve("l.log").toString());
        assertTrue(run.out().contains("OK\t1\tuser=alice"), run.out());
        List<String> loaded = run.classes().stream()
                .filter(l -> l.contains("com.sun.jna") || l.contains("org.saslauth.os.") || l.contains("org.saslauth.cli.Syslog")
                        || l.contains("java.lang.foreign"))
                .toList();
        assertEquals(List.of(), loaded);
    }

    @Test
    void aSyslogThatIsAbsentIsNotedOnceAndTheHelperServes() throws Exception {
        Path users = Files.writeString(dir.resolve("users.passwd"), "alice:{PLAIN}" + PASSWORD + "\n");
        Path log = dir.resolve("saslauth.log");
        Path absent = dir.resolve("no-syslog-here");
        for (Path java : Stream.concat(Stream.of(Path.of(System.getProperty("java.home"), "bin", "java")), newJdk().stream()).toList()) {
            Files.deleteIfExists(log);
            Run run = helper(java, session(), "--passwd-file", users.toString(), "--failure-delay", "0",
                    "--log-file", log.toString(), "--syslog-facility", "mail", "--syslog-socket", absent.toString());
            assertEquals("", run.err(), java + ": nothing on stderr");
            assertTrue(run.out().contains("OK\t1\tuser=alice") && run.out().contains("FAIL\t2\t"), run.out());
            assertEquals(0, run.status());
            String text = Files.readString(log);
            assertEquals(1, count(text, "syslog: " + absent + " is unavailable (ENOENT"), java + ": one note: " + text);
            assertEquals(3, count(text, "auth failed:") + count(text, "auth ok:"), "every login logged: " + text);
        }
    }

    @Test
    void theDaemonSendsItsLinesToSyslog() throws Exception {
        Path socket = dir.resolve("log");
        Path received = dir.resolve("received.txt");
        bind(socket, received);
        Path users = Files.writeString(dir.resolve("users.passwd"), "alice:{PLAIN}" + PASSWORD + "\n");
        Path auth = dir.resolve("auth");
        try (DaemonProcess daemon = DaemonProcess.startLogging("info", dir, auth, "--listen", "unix:" + auth,
                "--passwd-file", users.toString(), "--failure-delay", "0",
                "--syslog-facility", "local3", "--syslog-socket", socket.toString())) {
            try (AuthClient client = AuthClient.unix(auth)) {
                client.handshake();
                client.send(AuthClient.authPlain(1, "alice", PASSWORD, "192.0.2.20"));
                assertTrue(client.readLine().startsWith("OK\t1\t"));
            }
            long deadline = System.nanoTime() + 20_000_000_000L;
            String found = null;
            while (found == null && System.nanoTime() < deadline) {
                found = Files.readAllLines(received).stream().filter(l -> l.contains("auth ok: rip=192.0.2.20")).findFirst()
                        .orElse(null);
                Thread.sleep(50);
            }
            assertTrue(found != null, "the daemon's login line reached syslog: " + Files.readAllLines(received));
            Matcher m = DATAGRAM.matcher(found);
            assertTrue(m.matches(), found);
            assertEquals(String.valueOf(19 * 8 + 6), m.group(1), "local3.info");
            // examples/saslauth execs java: the process the test started is the daemon's JVM
            assertEquals(String.valueOf(daemon.process.pid()), m.group(3), "tagged with the daemon's pid");
            assertFalse(found.contains(PASSWORD));
        }
    }

    /**
     * examples/fail2ban-filter.conf with the real fail2ban-regex, on a helper's own log file and
     * on its syslog lines as rsyslog writes them to mail.log ({@code Mmm dd hh:mm:ss HOST tag:
     * message}): the addresses of the failed logins and no other, none taken from a user name.
     */
    @Test
    void theFail2banFilterMatchesTheFileAndTheSyslogForm() throws Exception {
        Path regex = Path.of("/usr/bin/fail2ban-regex");
        if (!Files.isExecutable(regex)) {
            String why = "no fail2ban-regex (Debian's fail2ban): the filter is not tested";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail(why + " (CI=true: this test must run)");
            }
            Assumptions.abort(why);
        }
        Path socket = dir.resolve("log");
        Path received = dir.resolve("received.txt");
        bind(socket, received);
        Path users = Files.writeString(dir.resolve("users.passwd"), "alice:{PLAIN}" + PASSWORD + "\n");
        Path log = dir.resolve("saslauth.log");
        String forged = "AUTH\t4\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.13\tresp="
                + plain("x rip=203.0.113.5 mech=PLAIN", "nope") + "\n";
        Run run = helper(Path.of(System.getProperty("java.home"), "bin", "java"), session() + forged,
                "--passwd-file", users.toString(), "--failure-delay", "0", "--log-file", log.toString(),
                "--syslog-facility", "mail", "--syslog-socket", socket.toString());
        assertEquals(0, run.status());
        int lines = Files.readAllLines(log).size();
        List<String> mailLog = new ArrayList<>();
        for (String datagram : awaitLines(received, lines)) {
            Matcher m = Pattern.compile("<\\d+>(.{15}) (.*)").matcher(datagram);
            assertTrue(m.matches(), datagram);
            mailLog.add(m.group(1) + " mx " + m.group(2));
        }
        Path syslogForm = Files.write(dir.resolve("mail.log"), mailLog);
        List<String> expected = List.of("192.0.2.11", "192.0.2.12", "192.0.2.13");
        Path filter = DaemonProcess.projectDir().resolve("examples/fail2ban-filter.conf").toAbsolutePath();
        for (Path file : List.of(log, syslogForm)) {
            Process p = new ProcessBuilder(regex.toString(), "-o", "ip", file.toString(), filter.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(expected, Stream.of(out.strip().split("\n")).sorted().toList(), file.getFileName() + ": " + out
                    + "\n" + Files.readString(file));
        }
    }

    /**
     * Under spawn(8) stdin, stdout and stderr are one socket to smtpd (python3 makes the pair):
     * what comes back on it is protocol lines only, and the log lines reach syslog.
     */
    @Test
    void underSpawnOnlyProtocolLinesComeBackAndSyslogGetsTheLog() throws Exception {
        Path socket = dir.resolve("log");
        Path received = dir.resolve("received.txt");
        bind(socket, received);
        Path users = Files.writeString(dir.resolve("users.passwd"), "alice:{PLAIN}" + PASSWORD + "\n");
        String spawn = String.join("\n",
                "import socket, subprocess, sys",
                "a, b = socket.socketpair()",
                "p = subprocess.Popen(sys.argv[1:], stdin=b, stdout=b, stderr=b)",
                "b.close()",
                "a.sendall(sys.stdin.buffer.read())",
                "a.shutdown(socket.SHUT_WR)",
                "a.settimeout(30)",
                "out = b''",
                "while True:",
                "    d = a.recv(65536)",
                "    if not d: break",
                "    out += d",
                "status = p.wait(timeout=30)",
                "sys.stdout.buffer.write(out)",
                "sys.exit(status)");
        Process p = new ProcessBuilder("python3", "-c", spawn, Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", JAR.toString(), "--passwd-file", users.toString(), "--failure-delay", "0",
                "--syslog-facility", "mail", "--syslog-socket", socket.toString(), "--log-level", "debug").start();
        try {
            p.getOutputStream().write(session().getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            String back = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), back);
            for (String line : back.split("\n")) {
                assertTrue(line.matches("(VERSION|MECH|SPID|CUID|COOKIE|DONE|OK|FAIL|CONT)(\t.*)?"),
                        "only protocol lines on smtpd's socket: " + line);
            }
            assertTrue(back.contains("OK\t1\tuser=alice"), back);
            // no log file: the lines are syslog's alone; the last one the helper logs is "end of input"
            List<String> lines = awaitLines(received, 1);
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (lines.stream().noneMatch(l -> l.contains("end of input")) && System.nanoTime() < deadline) {
                Thread.sleep(50);
                lines = Files.readAllLines(received);
            }
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("<22>") && l.contains("auth failed: rip=192.0.2.11")), lines.toString());
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("<23>") && l.contains("end of input")), lines.toString());
            assertTrue(lines.stream().noneMatch(l -> l.contains(PASSWORD)), lines.toString());
        } finally {
            p.destroyForcibly();
        }
    }

    private static List<String> awaitLines(Path file, int n) throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        List<String> lines = Files.readAllLines(file);
        while (lines.size() < n && System.nanoTime() < deadline) {
            Thread.sleep(50);
            lines = Files.readAllLines(file);
        }
        Thread.sleep(200); // and no more than that
        return Files.readAllLines(file);
    }

    private static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }

    /** bin/java of the newest JDK 22 or later under /usr/lib/jvm, as SodiumArgon2IT finds it. */
    static Optional<Path> newJdk() {
        Pattern version = Pattern.compile("(?m)^JAVA_VERSION=\"([0-9]+)");
        Path best = null;
        int bestVersion = 0;
        try (Stream<Path> all = Files.list(Path.of("/usr/lib/jvm"))) {
            for (Path jdk : (Iterable<Path>) all.sorted()::iterator) {
                Path release = jdk.resolve("release");
                if (Files.isExecutable(jdk.resolve("bin/java")) && Files.isReadable(release)) {
                    Matcher m = version.matcher(Files.readString(release));
                    if (m.find() && Integer.parseInt(m.group(1)) >= 22 && Integer.parseInt(m.group(1)) > bestVersion) {
                        best = jdk.resolve("bin/java");
                        bestVersion = Integer.parseInt(m.group(1));
                    }
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.ofNullable(best);
    }
}
