package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * passdb shadow and passdb pam against real accounts of this host, made by the test with {@code useradd} and
 * {@code chpasswd -c YESCRYPT} / {@code -c SHA512}, then locked ({@code usermod -L}), expired
 * ({@code chage -E 0}) and emptied ({@code passwd -d}), and removed after: through
 * {@code saslauth test} as root, and through {@code target/saslauth.jar} serving stdin as an
 * unprivileged user in group {@code shadow}, and as one without it. passdb pam through a PAM
 * service of the test's own: {@code pam_unix} for both phases, and {@code pam_exec} writing the
 * {@code PAM_RHOST} it was given to a file. Both passdbs also through the real Postfix, the
 * helper spawned as a user in group {@code shadow}.
 */
@Timeout(300)
class SystemAccountsIT {

    private static final String PREFIX = "sashadow";
    private static final String YES = PREFIX + "yes";
    private static final String SHA = PREFIX + "sha";
    private static final String LOCKED = PREFIX + "lock";
    private static final String EXPIRED = PREFIX + "exp";
    private static final String EMPTY = PREFIX + "empty";
    private static final String HELPER = PREFIX + "helper";
    private static final String OUTSIDER = PREFIX + "out";
    /** Accounts for Python's smtplib, which sends only ASCII passwords: yescrypt, locked, expired. */
    private static final String ASCII_YES = PREFIX + "ayes";
    private static final String ASCII_LOCKED = PREFIX + "alock";
    private static final String ASCII_EXPIRED = PREFIX + "aexp";
    private static final List<String> USERS = List.of(YES, SHA, LOCKED, EXPIRED, EMPTY, HELPER, OUTSIDER,
            ASCII_YES, ASCII_LOCKED, ASCII_EXPIRED);
    private static final String PASSWORD = "Shad0w-pass j\u00fcrgen";
    private static final String ASCII_PASSWORD = "Shad0w-pass jurgen";
    private static final Path JAR = DaemonProcess.projectDir().resolve("target/saslauth.jar").toAbsolutePath();
    private static final String SERVICE = "saslauth-it-" + ProcessHandle.current().pid();
    private static final Path SERVICE_FILE = Path.of("/etc/pam.d", SERVICE);
    private static Path rhosts;

    @TempDir
    Path dir;

    @BeforeAll
    static void makeAccounts() throws Exception {
        if (!"root".equals(System.getProperty("user.name"))) {
            String why = "not root: the test makes accounts with useradd";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail(why + " (CI=true: this test must run)");
            }
            Assumptions.abort(why);
        }
        removeAccounts();
        for (String user : List.of(YES, SHA, LOCKED, EXPIRED, EMPTY, ASCII_YES, ASCII_LOCKED, ASCII_EXPIRED)) {
            sh("useradd", "-M", "-N", "-s", "/usr/sbin/nologin", user);
        }
        chpasswd("YESCRYPT", PASSWORD, YES, LOCKED, EXPIRED, EMPTY);
        chpasswd("SHA512", PASSWORD, SHA);
        chpasswd("YESCRYPT", ASCII_PASSWORD, ASCII_YES, ASCII_LOCKED, ASCII_EXPIRED);
        sh("usermod", "-L", LOCKED);
        sh("usermod", "-L", ASCII_LOCKED);
        sh("chage", "-E", "0", EXPIRED);
        sh("chage", "-E", "0", ASCII_EXPIRED);
        sh("passwd", "-d", EMPTY);
        sh("useradd", "-r", "-M", "-N", "-G", "shadow", "-s", "/usr/sbin/nologin", HELPER);
        sh("useradd", "-r", "-M", "-N", "-s", "/usr/sbin/nologin", OUTSIDER);
        Path scripts = Files.createTempDirectory("saslauth-pam");
        Files.setPosixFilePermissions(scripts, PosixFilePermissions.fromString("rwxr-xr-x"));
        rhosts = scripts.resolve("rhosts");
        Files.writeString(rhosts, "");
        Files.setPosixFilePermissions(rhosts, PosixFilePermissions.fromString("rw-rw-rw-"));
        Path script = scripts.resolve("rhost.sh");
        Files.writeString(script, "#!/bin/sh\necho \"$PAM_USER $PAM_RHOST\" >> " + rhosts + "\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(SERVICE_FILE, "auth optional pam_exec.so quiet " + script + "\n"
                + "auth required pam_unix.so\naccount required pam_unix.so\n");
        String shadow = Files.readString(Path.of("/etc/shadow"));
        assertTrue(shadow.contains("\n" + YES + ":$y$"), "chpasswd -c YESCRYPT made a yescrypt hash");
        assertTrue(shadow.contains("\n" + SHA + ":$6$"), "chpasswd -c SHA512 made a SHA-512 hash");
        assertTrue(shadow.contains("\n" + LOCKED + ":!$y$"), "usermod -L locked it");
    }

    @AfterAll
    static void removeAccounts() throws Exception {
        for (String user : USERS) {
            run(List.of("userdel", user), "");
        }
        Files.deleteIfExists(SERVICE_FILE);
        if (rhosts != null) {
            Files.deleteIfExists(rhosts.resolveSibling("rhost.sh"));
            Files.deleteIfExists(rhosts);
            Files.deleteIfExists(rhosts.getParent());
        }
    }

    private static void chpasswd(String method, String password, String... users) throws Exception {
        StringBuilder lines = new StringBuilder();
        for (String user : users) {
            lines.append(user).append(':').append(password).append('\n');
        }
        Result r = run(List.of("chpasswd", "-c", method), lines.toString());
        assertEquals(0, r.status(), "chpasswd -c " + method + ": " + r.out());
    }

    record Result(int status, String out) {}

    private static Result run(List<String> cmd, String stdin) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd) + " ended");
            return new Result(p.exitValue(), out);
        } finally {
            p.destroyForcibly();
        }
    }

    private static void sh(String... cmd) throws Exception {
        Result r = run(List.of(cmd), "");
        assertEquals(0, r.status(), String.join(" ", cmd) + ": " + r.out());
    }

    private static List<String> java(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** {@code saslauth test --passdb shadow USER} as root, the password on stdin. */
    private static Result test(String user, String password) throws Exception {
        if (!Files.isReadable(JAR)) {
            fail(JAR + " is missing: run the integration tests through `mvn verify`");
        }
        return run(java("test", "--passdb", "shadow", user), password + "\n");
    }

    @Test
    void eachAccountThroughSaslauthTest() throws Exception {
        Result yes = test(YES, PASSWORD);
        assertEquals(0, yes.status(), yes.out());
        assertEquals("auth succeeded: user=" + YES + "\n", yes.out());
        assertEquals(0, test(SHA, PASSWORD).status(), "SHA-512");
        for (String refused : List.of(LOCKED, EXPIRED, EMPTY, "root")) {
            Result r = test(refused, PASSWORD);
            assertEquals(1, r.status(), refused + ": " + r.out());
            assertTrue(r.out().startsWith("auth failed: user=" + refused + " (wrong password)"), r.out());
        }
        assertEquals("auth failed: user=" + YES + " (wrong password)\n", test(YES, "wrong").out());
        assertEquals("auth failed: user=" + PREFIX + "nobody (unknown user)\n", test(PREFIX + "nobody", PASSWORD).out());
        Result low = run(java("test", "--passdb", "shadow", "--shadow-min-uid", "0", "root"), "wrong\n");
        assertEquals(1, low.status(), low.out());
    }

    private static String plain(String user, String password) {
        return Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    /** The jar serving a session on stdin as {@code user}, its log in a file that user may write. */
    private Result helperAs(String user, Path log, String... passdb) throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(log, "");
        Files.setPosixFilePermissions(log, PosixFilePermissions.fromString("rw-rw-rw-"));
        String session = "VERSION\t1\t0\nCPID\t42\n"
                + "AUTH\t1\tPLAIN\tservice=smtp\trip=192.0.2.7\tresp=" + plain(YES, PASSWORD) + "\n"
                + "AUTH\t2\tPLAIN\tservice=smtp\trip=192.0.2.7\tresp=" + plain(LOCKED, PASSWORD) + "\n"
                + "AUTH\t3\tPLAIN\tservice=smtp\trip=192.0.2.8\tresp=" + plain(SHA, PASSWORD) + "\n";
        List<String> cmd = new ArrayList<>(List.of("runuser", "-u", user, "--"));
        cmd.addAll(java(passdb.length == 0 ? new String[] {"--passdb", "shadow"} : passdb));
        cmd.addAll(List.of("--failure-delay", "0", "--log-file", log.toString()));
        Process p = new ProcessBuilder(cmd).start();
        try {
            p.getOutputStream().write(session.getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the helper ended");
            assertEquals("", err, "nothing on stderr");
            return new Result(p.exitValue(), out);
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void aHelperInGroupShadowServesTheAccounts() throws Exception {
        Path log = dir.resolve("helper.log");
        Result r = helperAs(HELPER, log);
        assertEquals(0, r.status(), r.out());
        assertTrue(r.out().contains("\nOK\t1\tuser=" + YES + "\n"), r.out());
        assertTrue(r.out().contains("\nFAIL\t2\tuser=" + LOCKED + "\treason=Authentication failed\n"), r.out());
        assertTrue(r.out().contains("\nOK\t3\tuser=" + SHA + "\n"), r.out());
        String text = Files.readString(log);
        assertTrue(text.contains("passdb shadow: user \"" + LOCKED + "\" refused, its password not checked: locked"), text);
        assertFalse(text.contains(PASSWORD), "no password in the log");
    }

    @Test
    void aHelperOutsideGroupShadowGreetsAndSaysWhatIsMissing() throws Exception {
        Path log = dir.resolve("outsider.log");
        Result r = helperAs(OUTSIDER, log);
        assertEquals(0, r.status(), r.out());
        assertTrue(r.out().contains("DONE\n"), "a handshake: " + r.out());
        assertTrue(r.out().contains("\nFAIL\t1\tuser=" + YES + "\treason=Temporary authentication failure\tcode=temp_fail\n"),
                r.out());
        String text = Files.readString(log);
        assertTrue(text.contains("needs the group shadow"), text);
    }

    // --- passdb pam ---------------------------------------------------------------------------

    private static Result pamTest(String user, String password) throws Exception {
        return run(java("test", "--passdb", "pam", "--pam-service", SERVICE, user), password + "\n");
    }

    @Test
    void eachAccountThroughPamWithSaslauthTest() throws Exception {
        assertEquals("auth succeeded: user=" + YES + "\n", pamTest(YES, PASSWORD).out());
        assertEquals("auth succeeded: user=" + SHA + "\n", pamTest(SHA, PASSWORD).out());
        assertEquals("auth failed: user=" + YES + " (wrong password)\n", pamTest(YES, "wrong").out());
        for (String refused : List.of(LOCKED, EXPIRED, EMPTY)) {
            Result r = pamTest(refused, PASSWORD);
            assertEquals(1, r.status(), refused + ": " + r.out());
            assertTrue(r.out().startsWith("auth failed: user=" + refused + " (wrong password)"), r.out());
        }
        Result missing = run(java("test", "--passdb", "pam", "--pam-service", SERVICE + "-missing", YES), PASSWORD + "\n");
        assertEquals(3, missing.status(), missing.out());
        assertTrue(missing.out().contains("does not exist"), missing.out());
    }

    /** A helper in group shadow, as pam_unix needs to check other users' passwords; PAM_RHOST is the client's. */
    @Test
    void aHelperInGroupShadowServesPamWithTheClientsAddress() throws Exception {
        Path log = dir.resolve("pam.log");
        Result r = helperAs(HELPER, log, "--passdb", "pam", "--pam-service", SERVICE);
        assertEquals(0, r.status(), r.out());
        assertTrue(r.out().contains("\nOK\t1\tuser=" + YES + "\n"), r.out() + Files.readString(log));
        assertTrue(r.out().contains("\nFAIL\t2\tuser=" + LOCKED + "\treason=Authentication failed\n"), r.out());
        assertTrue(r.out().contains("\nOK\t3\tuser=" + SHA + "\n"), r.out());
        List<String> seen = Files.readAllLines(rhosts);
        assertTrue(seen.contains(YES + " 192.0.2.7") && seen.contains(SHA + " 192.0.2.8"), "PAM_RHOST: " + seen);
        assertFalse(Files.readString(log).contains(PASSWORD), "no password in the log");
    }

    /** Outside the group, pam_unix checks only the helper's own password: every other is refused. */
    @Test
    void aHelperOutsideGroupShadowIsRefusedByPamUnix() throws Exception {
        Path log = dir.resolve("pam-outsider.log");
        Result r = helperAs(OUTSIDER, log, "--passdb", "pam", "--pam-service", SERVICE);
        assertEquals(0, r.status(), r.out());
        assertFalse(r.out().contains("\nOK\t"), "no login without the group: " + r.out());
    }

    // --- through the real Postfix ---------------------------------------------------------------

    /**
     * smtpd asking a spawned helper that runs as an unprivileged user in group shadow, with
     * passdb shadow: a yescrypt account gets in, a locked one and a wrong password get 535.
     */
    @Test
    void postfixWithPassdbShadow() throws Exception {
        PostfixInstance.requirePostfix();
        PostfixInstance.Service shadow = new PostfixInstance.Service("saslauth_shadow", String.join("\n",
                "passdb = shadow",
                "failure-delay = 0",
                "log-file = {log}/saslauth-shadow.log", ""), HELPER + ":shadow"); // spawn(8) sets one group only
        try (PostfixInstance postfix = PostfixInstance.start(DaemonProcess.projectDir(), List.of(shadow))) {
            Path log = postfix.dir.resolve("log").resolve("saslauth-shadow.log");
            Files.writeString(log, "");
            Files.setPosixFilePermissions(log, PosixFilePermissions.fromString("rw-rw-rw-"));
            try (SmtpClient smtp = new SmtpClient(postfix.port(shadow), java.time.Duration.ofSeconds(30))) {
                assertEquals(220, smtp.greeting().code());
                SmtpClient.Reply ehlo = smtp.send("EHLO client.saslauth.test");
                assertTrue(ehlo.text().contains("AUTH PLAIN LOGIN"), ehlo + "\n" + postfix.maillogTail(20));
                assertEquals(535, smtp.send("AUTH PLAIN " + SmtpClient.plain(YES, "wrong")).code());
                assertEquals(535, smtp.send("AUTH PLAIN " + SmtpClient.plain(LOCKED, PASSWORD)).code());
                SmtpClient.Reply ok = smtp.send("AUTH PLAIN " + SmtpClient.plain(YES, PASSWORD));
                assertEquals(235, ok.code(), ok + "\n" + Files.readString(log) + postfix.maillogTail(30));
                assertDispatchFromTheCachesDirectory(postfix);
            }
            assertTrue(Files.readString(log).contains("refused, its password not checked: locked"), Files.readString(log));
        }
    }

    /**
     * smtpd asking a spawned helper run as an unprivileged user in group shadow with
     * {@code --passdb pam --pam-service} the test's service, Python's smtplib logging in: the
     * yescrypt account gets 235, a wrong password, the locked account and the expired one 535
     * (each with its right, ASCII, password but the wrong one),
     * the expired one's reason (pam_unix's account phase) in saslauth's log; the client's
     * address, 127.0.0.2 here, reaches the modules as {@code PAM_RHOST}.
     */
    @Test
    void postfixWithPassdbPam() throws Exception {
        PostfixInstance.requirePostfix();
        PostfixInstance.Service pam = new PostfixInstance.Service("saslauth_pam", String.join("\n",
                "failure-delay = 0",
                "log-file = {log}/saslauth-pam.log", ""), HELPER + ":shadow",
                " --passdb pam --pam-service " + SERVICE);
        try (PostfixInstance postfix = PostfixInstance.start(DaemonProcess.projectDir(), List.of(pam))) {
            Path log = postfix.dir.resolve("log").resolve("saslauth-pam.log");
            Files.writeString(log, "");
            Files.setPosixFilePermissions(log, PosixFilePermissions.fromString("rw-rw-rw-"));
            int port = postfix.port(pam);
            // A session held open, so that its helper, having logged in, is there to be looked at.
            try (SmtpClient smtp = new SmtpClient(port, java.time.Duration.ofSeconds(30))) {
                assertEquals(220, smtp.greeting().code());
                smtp.send("EHLO client.saslauth.test");
                assertEquals(235, smtp.send("AUTH PLAIN " + SmtpClient.plain(YES, PASSWORD)).code(),
                        Files.readString(log));
                assertDispatchFromTheCachesDirectory(postfix);
            }
            MailClients.Outcome ok = MailClients.smtplib(port, ASCII_YES, ASCII_PASSWORD, "127.0.0.2");
            assertTrue(ok.ok(), ok + "\n" + Files.readString(log) + postfix.maillogTail(30));
            for (List<String> refused : List.of(List.of(ASCII_YES, "wrong"), List.of(ASCII_LOCKED, ASCII_PASSWORD),
                    List.of(ASCII_EXPIRED, ASCII_PASSWORD))) {
                MailClients.Outcome r = MailClients.smtplib(port, refused.get(0), refused.get(1));
                assertTrue(r.status() == 1 && r.accepted() == 0 && r.refused() >= 1 && r.output().contains(
                        "login refused: 535"), refused.get(0) + ": " + r + "\n" + Files.readString(log));
            }
            String text = Files.readString(log);
            assertTrue(text.contains("passdb pam: user \"" + ASCII_EXPIRED + "\" refused in the account phase: "), text);
            assertFalse(text.contains(ASCII_PASSWORD), "no password in the log");
            assertTrue(Files.readAllLines(rhosts).contains(ASCII_YES + " 127.0.0.2"), "PAM_RHOST: "
                    + Files.readAllLines(rhosts));
        }
    }

    /**
     * The helpers of {@code postfix} that have loaded JNA map its native part from the copy
     * {@code saslauth cds} unpacked beside the start-up cache, none from one of their own in /tmp.
     */
    private static void assertDispatchFromTheCachesDirectory(PostfixInstance postfix) throws IOException {
        Path cacheDir = postfix.startupCache().getParent();
        List<String> mapped = new ArrayList<>();
        for (ProcessHandle helper : postfix.helpers(null)) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc", Long.toString(helper.pid()), "maps"))) {
                    if (line.contains("jnidispatch") || line.matches(".*/jna[0-9]+\\.tmp.*")) {
                        mapped.add(line.substring(line.indexOf('/')));
                    }
                }
            } catch (IOException e) {
                // ended meanwhile
            }
        }
        assertFalse(mapped.isEmpty(), "a helper that checked a crypt hash or asked PAM has loaded JNA");
        for (String file : mapped) {
            assertTrue(file.startsWith(cacheDir + "/libjnidispatch-"), "JNA's native part from " + cacheDir + ": " + mapped);
        }
    }
}
