package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.saslauth.e2e.PostfixInstance.Result;

/**
 * The Debian package {@code target/saslauth_<version>_all.deb} on this machine, as an
 * administrator meets it: lintian; install of a previous build, an edited conffile kept over
 * the upgrade to this one; the man pages, the completion and the systemd units; the real Postfix
 * end-to-end tests against the installed {@code /usr/sbin/saslauth} under spawn(8) and against
 * the daemon started by the units' socket and {@code ExecStart} line; log rotation with the
 * installed logrotate file while a helper and the daemon write; without systemd, the init script
 * and the daemon's socket in /var/spool/postfix/saslauth, and the one-line refusal of Postfix's
 * private/; remove, then purge, which must leave nothing behind. Needs root and a machine where saslauth is not installed otherwise.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class DebianPackageIT {

    private static final Path PROJECT = DaemonProcess.projectDir();
    private static final Path LAUNCHER = Path.of("/usr/sbin/saslauth");
    private static final Path CONFIG = Path.of("/etc/saslauth/saslauth.properties");
    private static final Path USERS = Path.of("/etc/saslauth/users.passwd");
    private static final Path LOG_DIR = Path.of("/var/log/saslauth");
    private static final Path ARCHIVE = Path.of("/var/cache/saslauth/saslauth.jsa");
    private static final Path SERVICE = Path.of("/usr/lib/systemd/system/saslauth.service");
    private static final Path SOCKET = Path.of("/usr/lib/systemd/system/saslauth.socket");
    private static final Path INIT = Path.of("/etc/init.d/saslauth");
    private static final Path DEFAULTS = Path.of("/etc/default/saslauth");
    /** passdb pam's service: Debian's common-auth and common-account. */
    private static final Path PAM = Path.of("/etc/pam.d/saslauth");
    private static final Path PIDFILE = Path.of("/run/saslauth.pid");
    private static final Path POSTFIX = Path.of("/var/spool/postfix");
    private static final Path SPOOL = POSTFIX.resolve("saslauth");
    private static final String EDIT = "# edited by the administrator, kept over upgrades";
    private static final Map<String, String> ENV = Map.of("LC_ALL", "C.UTF-8", "MANWIDTH", "80");

    private static Path deb;
    private static String version;
    private static Path work;
    private static boolean installedByUs;

    @BeforeAll
    static void requireRootAndNoSaslauth() throws IOException {
        String problem = null;
        if (!isRoot()) {
            problem = "not running as root: dpkg -i needs root";
        } else if (!Files.isExecutable(Path.of("/usr/bin/dpkg"))) {
            problem = "no dpkg: not a Debian system";
        } else if (run("dpkg-query", "-W", "-f=${Status}", "saslauth").output().contains("installed")) {
            problem = "a saslauth package is installed on this machine already: not touching it";
        }
        if (problem != null) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail("cannot run the Debian package test: " + problem + " (CI=true: this test must run in CI)");
            }
            Assumptions.abort("cannot run the Debian package test: " + problem);
        }
        try (Stream<Path> s = Files.list(PROJECT.resolve("target"))) {
            deb = s.filter(p -> p.getFileName().toString().matches("saslauth_.+_all\\.deb"))
                    .max(Comparator.comparing(p -> p.toFile().lastModified()))
                    .orElseThrow(() -> new AssertionError("no target/saslauth_*_all.deb: run `mvn verify`"));
        }
        version = check("dpkg-deb", "-f", deb.toString(), "Version").strip();
        work = Files.createTempDirectory("saslauth-deb-");
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @AfterAll
    static void purge() throws IOException {
        if (installedByUs && run("dpkg-query", "-W", "-f=${Status}", "saslauth").output().contains("installed")) {
            run("dpkg", "--purge", "saslauth");
        }
        if (work != null && System.getenv("SASLAUTH_E2E_KEEP") == null) {
            try (Stream<Path> s = Files.walk(work)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Order(1)
    @Test
    void lintianFindsNoErrorAndNoWarning() throws IOException {
        Result r = run(Duration.ofMinutes(5), "lintian", "--pedantic", "--display-info", deb.toString());
        List<String> tags = r.output().lines().filter(l -> l.matches("^[EWIP]: .*")).toList();
        assertEquals(List.of(), tags.stream().filter(l -> l.startsWith("E:") || l.startsWith("W:")).toList(),
                "lintian:\n" + r.output());
        assertTrue(r.status() == 0 || r.status() == 2, "lintian ran (" + r.status() + "):\n" + r.output());
        List<String> conffiles = check("dpkg-deb", "-I", deb.toString(), "conffiles").lines().toList();
        assertTrue(conffiles.containsAll(List.of(INIT.toString(), DEFAULTS.toString(), PAM.toString())),
                "conffiles: " + conffiles);
    }

    /** The previous build: this package with a lower version, as `dpkg-deb -b` makes it. */
    @Order(2)
    @Test
    void previousBuildInstallsAndSetsUpUserConfigLogsAndArchive() throws IOException {
        Path tree = work.resolve("previous");
        check("dpkg-deb", "-R", deb.toString(), tree.toString());
        Path control = tree.resolve("DEBIAN/control");
        Files.writeString(control, Files.readString(control).replaceFirst("(?m)^Version: .*$", "Version: " + version + "~previous1"));
        Path previous = work.resolve("saslauth_" + version + "~previous1_all.deb");
        check("dpkg-deb", "-b", tree.toString(), previous.toString());

        installedByUs = true;
        check("dpkg", "-i", previous.toString());
        assertEquals(version + "~previous1", installedVersion());
        assertTrue(run("getent", "passwd", "saslauth").status() == 0, "the saslauth user exists");
        for (Path f : List.of(CONFIG, USERS)) {
            PosixFileAttributes a = Files.readAttributes(f, PosixFileAttributes.class);
            assertEquals("root saslauth rw-r-----", a.owner().getName() + " " + a.group().getName() + " "
                    + PosixFilePermissions.toString(a.permissions()), f.toString());
        }
        PosixFileAttributes logs = Files.readAttributes(LOG_DIR, PosixFileAttributes.class);
        assertEquals("saslauth", logs.owner().getName());
        assertTrue(Files.size(ARCHIVE) > 100_000, "the class-data-sharing archive was made at install");
        assertTrue(check(LAUNCHER.toString(), "--version").contains(version), "the installed launcher runs");
        assertSpoolDirectory();
        assertTrue(Files.readString(PAM).contains("@include common-auth"), PAM + " is installed");
        assertTrue(Files.isExecutable(INIT), INIT + " is installed");
        assertTrue(Files.exists(Path.of("/etc/rc2.d/K01saslauth"), java.nio.file.LinkOption.NOFOLLOW_LINKS)
                && !Files.exists(Path.of("/etc/rc2.d/S01saslauth"), java.nio.file.LinkOption.NOFOLLOW_LINKS),
                "registered, not enabled: " + check("ls", "/etc/rc2.d"));
    }

    /** The daemon's socket directory inside smtpd's chroot, made by postinst where Postfix is. */
    private static void assertSpoolDirectory() throws IOException {
        if (!Files.isDirectory(POSTFIX) || run("getent", "group", "postfix").status() != 0) {
            assertFalse(Files.exists(SPOOL), "no Postfix, no " + SPOOL);
            return;
        }
        PosixFileAttributes a = Files.readAttributes(SPOOL, PosixFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        assertTrue(a.isDirectory(), SPOOL + " is a directory");
        assertEquals("saslauth postfix rwxr-x---", a.owner().getName() + " " + a.group().getName() + " "
                + PosixFilePermissions.toString(a.permissions()), SPOOL.toString());
    }

    @Order(3)
    @Test
    void upgradeKeepsTheEditedConffilesAndRemakesTheArchive() throws Exception {
        // The administrator's edits: a marker, and the users the end-to-end tests log in as.
        Files.writeString(CONFIG, Files.readString(CONFIG) + EDIT + "\n");
        Files.writeString(USERS, Files.readString(USERS) + Files.readString(PROJECT.resolve("examples/users.passwd")));
        long archiveBefore = Files.getLastModifiedTime(ARCHIVE).toMillis();
        Thread.sleep(1100);
        check("dpkg", "--force-confold", "-i", deb.toString());
        assertEquals(version, installedVersion());
        assertTrue(Files.readString(CONFIG).contains(EDIT), "the edited conffile is kept:\n" + Files.readString(CONFIG));
        assertTrue(Files.readString(USERS).contains("alice:"), "the edited users file is kept");
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(CONFIG)));
        assertTrue(Files.getLastModifiedTime(ARCHIVE).toMillis() > archiveBefore, "the archive is made again on upgrade");
        assertSpoolDirectory();
        // the installed config and users work for a real login, read as the saslauth user
        Process test = new ProcessBuilder(asSaslauth(LAUNCHER.toString(), "test", "--config", CONFIG.toString(), "alice"))
                .redirectErrorStream(true).start();
        test.getOutputStream().write("alice-password\n".getBytes(StandardCharsets.UTF_8));
        test.getOutputStream().close();
        String out = new String(test.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(test.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, test.exitValue(), out);
    }

    /** The dpkg trigger on /usr/lib/jvm: what a Java upgrade fires. */
    @Order(4)
    @Test
    void aJavaUpgradeRemakesTheArchive() throws Exception {
        long before = Files.getLastModifiedTime(ARCHIVE).toMillis();
        Thread.sleep(1100);
        check("dpkg-trigger", "--no-await", "/usr/lib/jvm");
        assertTrue(check("dpkg", "--triggers-only", "-a").contains("Processing triggers for saslauth"));
        assertTrue(Files.getLastModifiedTime(ARCHIVE).toMillis() > before, "the archive is made again");
        assertTrue(Files.size(ARCHIVE) > 100_000);
    }

    @Order(5)
    @Test
    void manPagesRenderWithoutWarningsAndHoldEveryOptionOfHelp() throws IOException {
        Map<String, String> pages = Map.of("saslauth", "8", "saslauth-hash", "8", "saslauth-test", "8",
                "saslauth-daemon", "8", "saslauth.properties", "5");
        for (var page : pages.entrySet()) {
            Path file = Path.of("/usr/share/man/man" + page.getValue() + "/" + page.getKey() + "." + page.getValue() + ".gz");
            Result r = runSplit(ENV, "man", "--warnings", "-l", file.toString());
            assertEquals(0, r.status(), file + ": " + r.output());
            assertEquals("", r.output(), file + ": warnings");
        }
        String main = check(ENV, "man", "-l", "/usr/share/man/man8/saslauth.8.gz");
        String properties = check(ENV, "man", "-l", "/usr/share/man/man5/saslauth.properties.5.gz");
        for (String command : List.of("", "hash", "test", "daemon")) {
            List<String> args = new ArrayList<>(List.of(LAUNCHER.toString()));
            if (!command.isEmpty()) {
                args.add(command);
            }
            args.add("--help");
            Set<String> options = longOptions(check(Map.of(), args.toArray(String[]::new)));
            assertFalse(options.isEmpty(), "saslauth " + command + " --help lists options");
            for (String option : options) {
                assertTrue(main.contains(option), "saslauth(8) has " + command + " " + option);
            }
            if (command.isEmpty() || command.equals("daemon")) { // their options are the file's keys
                options.removeAll(List.of("--help", "--version", "--config"));
                for (String option : options) {
                    assertTrue(properties.contains(option.substring(2) + " ="), "saslauth.properties(5) has key " + option);
                }
            }
        }
    }

    private static Set<String> longOptions(String help) {
        Set<String> names = new LinkedHashSet<>();
        Matcher m = Pattern.compile("(?m)^\\s+(?:-\\w, )?(--[a-z0-9-]+)").matcher(help);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    @Order(6)
    @Test
    void bashCompletionLoadsAndCompletesOptions() throws IOException {
        String script = "source /usr/share/bash-completion/completions/saslauth || exit 9\n"
                + "complete -p saslauth || exit 8\n"
                + "COMP_WORDS=(saslauth --pass); COMP_CWORD=1; COMP_LINE='saslauth --pass'; COMP_POINT=${#COMP_LINE}\n"
                + "f=$(complete -p saslauth | sed -n 's/.*-F \\([^ ]*\\) .*/\\1/p'); $f saslauth --pass saslauth\n"
                + "echo \"reply: ${COMPREPLY[*]}\"\n";
        Result r = run(Map.of(), "bash", "--norc", "-c", script);
        assertEquals(0, r.status(), r.output());
        assertTrue(r.output().contains("reply: --passwd-file"), r.output());
    }

    @Order(7)
    @Test
    void systemdAnalyzeVerifiesBothUnits() throws IOException {
        Result r = run("systemd-analyze", "verify", SOCKET.toString(), SERVICE.toString());
        assertEquals(0, r.status(), r.output());
        assertEquals(List.of(), r.output().lines().filter(l -> l.contains("saslauth")).toList(), r.output());
        String exec = DaemonProcess.unitKeys(SERVICE).get("ExecStart");
        assertTrue(exec.startsWith(LAUNCHER + " daemon "), exec);
    }

    /** PostfixIT and PostfixDaemonIT again, against the installed launcher and units. */
    @Order(8)
    @Test
    void postfixEndToEndAgainstTheInstalledPackage() {
        System.setProperty(PostfixInstance.INSTALLED_LAUNCHER, LAUNCHER.toString());
        System.setProperty(DaemonProcess.UNIT, SERVICE.toString());
        try {
            LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                    .selectors(DiscoverySelectors.selectClass(PostfixIT.class),
                            DiscoverySelectors.selectClass(PostfixDaemonIT.class))
                    .build();
            Launcher launcher = LauncherFactory.create();
            SummaryGeneratingListener listener = new SummaryGeneratingListener();
            launcher.execute(request, listener);
            TestExecutionSummary summary = listener.getSummary();
            StringBuilder failures = new StringBuilder();
            for (TestExecutionSummary.Failure f : summary.getFailures()) {
                failures.append(f.getTestIdentifier().getDisplayName()).append(": ").append(f.getException()).append('\n');
            }
            System.out.printf("installed package: %d end-to-end tests, %d succeeded%n",
                    summary.getTestsFoundCount(), summary.getTestsSucceededCount());
            assertEquals("", failures.toString());
            assertEquals(0, summary.getTestsAbortedCount() + summary.getTestsSkippedCount(), "none skipped");
            assertTrue(summary.getTestsSucceededCount() >= 20, "the end-to-end tests ran: " + summary.getTestsSucceededCount());
        } finally {
            System.clearProperty(PostfixInstance.INSTALLED_LAUNCHER);
            System.clearProperty(DaemonProcess.UNIT);
        }
    }

    /**
     * The installed logrotate file rotates /var/log/saslauth/saslauth.log while a helper (spawn
     * mode, on a pipe) and the daemon log logins to it: every login's line is in one of the two
     * files, and both processes write to the new file within a second or so.
     */
    @Order(9)
    @Test
    void logRotationWhileAHelperAndTheDaemonWrite() throws Exception {
        try (Stream<Path> s = Files.list(LOG_DIR)) {
            for (Path p : s.toList()) {
                Files.delete(p);
            }
        }
        Path log = LOG_DIR.resolve("saslauth.log");
        Path rotated = LOG_DIR.resolve("saslauth.log.1");
        Path dir = work.resolve("rotation");
        Files.createDirectories(dir);
        Files.setOwner(dir, dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("saslauth"));
        Path socket = dir.resolve("auth");
        String resp = "resp=" + Base64.getEncoder().encodeToString("\0alice\0alice-password".getBytes(StandardCharsets.UTF_8));
        String auth = "\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.7\t" + resp;

        Process helper = new ProcessBuilder(asSaslauth(LAUNCHER.toString(), "--config", CONFIG.toString()))
                .redirectError(dir.resolve("helper.stderr").toFile()).start();
        Process daemon = new ProcessBuilder(asSaslauth(LAUNCHER.toString(), "daemon", "--config", CONFIG.toString(),
                "--listen", "unix:" + socket))
                .redirectOutput(dir.resolve("daemon.stdout").toFile())
                .redirectError(dir.resolve("daemon.stderr").toFile()).start();
        AtomicBoolean stop = new AtomicBoolean();
        try {
            rotateWhileBothWrite(helper, daemon, stop, socket, auth, log, rotated);
        } finally { // stopped by pid whatever failed: a daemon left running would keep the saslauth user
            stop.set(true);
            for (Process p : List.of(helper, daemon)) {
                if (p.isAlive()) {
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }

    private void rotateWhileBothWrite(Process helper, Process daemon, AtomicBoolean stop, Path socket, String auth,
            Path log, Path rotated) throws Exception {
        AtomicInteger oks = new AtomicInteger();
        List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread helperWriter = new Thread(() -> {
            try (OutputStream in = helper.getOutputStream();
                    BufferedReader out = new BufferedReader(new InputStreamReader(helper.getInputStream(), StandardCharsets.UTF_8))) {
                in.write("VERSION\t1\t0\nCPID\t1\n".getBytes(StandardCharsets.UTF_8));
                in.flush();
                for (int id = 1; !stop.get(); id++) {
                    in.write(("AUTH\t" + id + auth + "\n").getBytes(StandardCharsets.UTF_8));
                    in.flush();
                    String line;
                    while ((line = out.readLine()) != null && !line.startsWith("OK\t" + id + "\t") && !line.startsWith("FAIL\t")) {
                        // handshake lines
                    }
                    assertTrue(line != null && line.startsWith("OK\t"), "helper: " + line);
                    oks.incrementAndGet();
                    Thread.sleep(20);
                }
            } catch (Throwable e) {
                errors.add(e);
            }
        }, "helper-client");
        helperWriter.start();
        awaitPath(socket, daemon);
        Thread daemonWriter = new Thread(() -> {
            try (AuthClient c = AuthClient.unix(socket)) {
                c.handshake();
                for (int id = 1; !stop.get(); id++) {
                    c.send("AUTH\t" + id + auth);
                    String line = c.readLine();
                    assertTrue(line != null && line.startsWith("OK\t" + id + "\t"), "daemon: " + line);
                    oks.incrementAndGet();
                    Thread.sleep(20);
                }
            } catch (Throwable e) {
                errors.add(e);
            }
        }, "daemon-client");
        daemonWriter.start();

        Thread.sleep(1500);
        Path state = work.resolve("logrotate.state");
        Result rotate = run("logrotate", "-f", "-s", state.toString(), "/etc/logrotate.d/saslauth");
        assertEquals(0, rotate.status(), rotate.output());
        assertTrue(Files.exists(rotated) && Files.exists(log), "logrotate made saslauth.log.1 and a new saslauth.log");
        Thread.sleep(2500);
        stop.set(true);
        helperWriter.join(10_000);
        daemonWriter.join(10_000);
        helper.getOutputStream().close();
        assertTrue(helper.waitFor(10, TimeUnit.SECONDS), "the helper ends at end of input");
        daemon.destroy();
        assertTrue(daemon.waitFor(10, TimeUnit.SECONDS), "the daemon ends at SIGTERM");
        assertEquals(List.of(), errors);

        List<String> before = Files.readAllLines(rotated);
        List<String> after = Files.readAllLines(log);
        long logged = Stream.concat(before.stream(), after.stream()).filter(l -> l.contains(" - auth ok: ")).count();
        System.out.printf("log rotation: %d logins, %d lines in saslauth.log.1, %d in saslauth.log%n",
                oks.get(), before.size(), after.size());
        assertTrue(oks.get() > 50, "logins during the test: " + oks.get());
        assertEquals(oks.get(), logged, "every login's line in one of the two files");
        for (long pid : List.of(helper.pid(), daemon.pid())) {
            String tag = "saslauth[" + pid + "] - auth ok: ";
            assertTrue(before.stream().anyMatch(l -> l.contains(tag)), pid + " wrote to the file before rotation");
            assertTrue(after.stream().anyMatch(l -> l.contains(tag)), pid + " reopened the new file");
        }
    }

    /**
     * Without systemd, {@code /etc/init.d/saslauth} runs the daemon as the user saslauth (never
     * as root) on the socket in the package's directory inside smtpd's chroot: a login there,
     * {@code status}, {@code reload} (SIGHUP: the users read again), {@code stop}, and nothing left.
     */
    @Order(10)
    @Test
    void theInitScriptRunsTheDaemonAsSaslauthOnTheSpoolSocket() throws Exception {
        Assumptions.assumeFalse(Files.isDirectory(Path.of("/run/systemd/system")),
                "systemd runs here: the init script hands over to systemctl");
        Assumptions.assumeTrue(Files.isDirectory(SPOOL), "no Postfix here, so no " + SPOOL);
        Path socket = SPOOL.resolve("auth");
        assertEquals(3, run(INIT.toString(), "status").status(), "not running yet");
        Result start = run(INIT.toString(), "start");
        assertEquals(0, start.status(), start.output());
        long pid = Long.parseLong(Files.readString(PIDFILE).strip());
        try {
            String uid = check("id", "-u", "saslauth").strip();
            String gid = check("id", "-g", "saslauth").strip();
            String status = Files.readString(Path.of("/proc/" + pid + "/status"));
            assertTrue(status.contains("\nUid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid + "\n"), status);
            assertTrue(status.contains("\nGid:\t" + gid + "\t" + gid + "\t" + gid + "\t" + gid + "\n"), status);
            assertTrue(isSocket(socket), socket + " is there once start returns");
            PosixFileAttributes a = Files.readAttributes(socket, PosixFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            assertEquals("saslauth rw-rw-rw-", a.owner().getName() + " " + PosixFilePermissions.toString(a.permissions()),
                    "the directory (saslauth:postfix 0750) keeps others out");
            try (AuthClient c = AuthClient.unix(socket)) {
                c.handshake();
                c.send(AuthClient.authPlain(1, "alice", "alice-password"));
                String line = c.readLine();
                assertTrue(line.startsWith("OK\t1\t"), line);
            }
            assertEquals("OK", loginAs("postfix", socket), "smtpd's user gets in through the directory's group");
            assertTrue(loginAs("nobody", socket).startsWith("cannot connect: "), "others do not");
            Result again = run(INIT.toString(), "start");
            assertEquals(0, again.status(), "start when running: " + again.output());
            assertEquals(Long.toString(pid), Files.readString(PIDFILE).strip(), "the same daemon");
            assertEquals(0, run(INIT.toString(), "status").status());

            long logged = linesOf(pid, "SIGHUP");
            Result reload = run(INIT.toString(), "reload");
            assertEquals(0, reload.status(), reload.output());
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (linesOf(pid, "SIGHUP") == logged && System.nanoTime() < deadline) {
                PostfixInstance.sleep(50);
            }
            assertEquals(logged + 1, linesOf(pid, "SIGHUP"), "reload: one SIGHUP in the log");
            assertTrue(Files.exists(Path.of("/proc/" + pid)), "still running after reload");
        } finally {
            Result stop = run(INIT.toString(), "stop");
            assertEquals(0, stop.status(), stop.output());
        }
        assertFalse(Files.exists(Path.of("/proc/" + pid)), "the daemon is gone after stop");
        assertFalse(Files.exists(PIDFILE), "no pid file after stop");
        assertFalse(Files.exists(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS), "the socket is removed at the stop");
        assertEquals(3, run(INIT.toString(), "status").status(), "status after stop");
        assertEquals(0, run(INIT.toString(), "stop").status(), "stop when stopped");
        assertEquals(7, run(INIT.toString(), "reload").status(), "reload when stopped");
        assertEquals(List.of(), leftDaemons(SPOOL.toString()), "no daemon left");
    }

    /**
     * The daemon as its own user meets Postfix's private/ (postfix's, 0700): one line naming the
     * directory, its owner and mode, the user and what to do, exit status 3; and the init script
     * says that it did not start, leaving no process behind.
     */
    @Order(11)
    @Test
    void aSocketInPostfixsPrivateDirectoryIsRefusedInOneLine() throws Exception {
        Path priv = POSTFIX.resolve("private");
        Assumptions.assumeTrue(Files.isDirectory(priv), "no " + priv + " here");
        PosixFileAttributes a = Files.readAttributes(priv, PosixFileAttributes.class);
        String expected = "cannot create " + priv + "/saslauth: directory " + priv + " is owned by " + a.owner().getName()
                + ":" + a.group().getName() + " mode 0700 and saslauth runs as saslauth; use " + SPOOL + "/auth";
        Process p = new ProcessBuilder(asSaslauth(LAUNCHER.toString(), "daemon", "--passwd-file", USERS.toString(),
                "--listen", "unix:" + priv.resolve("saslauth"))).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(3, p.exitValue(), err);
        assertEquals(1, err.lines().filter(l -> l.contains(expected)).count(), err);
        assertFalse(err.contains("Exception"), err);

        String defaults = Files.readString(DEFAULTS);
        try {
            Files.writeString(DEFAULTS, defaults.replace("unix:" + SPOOL + "/auth", "unix:" + priv.resolve("saslauth")));
            Result start = run(INIT.toString(), "start");
            assertEquals(1, start.status(), start.output());
            assertTrue(start.output().contains("see /var/log/saslauth/saslauth.log"), start.output());
            assertTrue(Files.readString(LOG_DIR.resolve("saslauth.log")).contains(expected), "the log says why");
            assertFalse(Files.exists(PIDFILE), "no pid file left");
            assertEquals(List.of(), leftDaemons(priv.toString()), "no daemon left");
        } finally {
            Files.writeString(DEFAULTS, defaults);
        }
    }

    /** What {@link LoginAs} says of alice's login on {@code socket} as {@code user}. */
    private static String loginAs(String user, Path socket) throws IOException {
        String classPath = Stream.of(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .filter(e -> Files.isDirectory(Path.of(e))).collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
        return check("setpriv", "--reuid=" + user, "--regid=" + user.replace("nobody", "nogroup"), "--init-groups", "--",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", classPath,
                LoginAs.class.getName(), socket.toString(), "alice", "alice-password").strip().replaceAll("(?s).*\n", "");
    }

    /** The log lines of the daemon {@code pid} that hold {@code text}. */
    private static long linesOf(long pid, String text) throws IOException {
        return Files.readAllLines(LOG_DIR.resolve("saslauth.log")).stream()
                .filter(l -> l.contains("saslauth[" + pid + "]") && l.contains(text)).count();
    }

    /**
     * The processes whose command line holds {@code text} (daemons listening there), killed so
     * that a failure here leaves none to the tests after it.
     */
    private static List<Long> leftDaemons(String text) {
        List<ProcessHandle> left = ProcessHandle.allProcesses()
                .filter(h -> h.info().arguments().map(args -> String.join(" ", args).contains(text)).orElse(false))
                .toList();
        left.forEach(ProcessHandle::destroyForcibly);
        return left.stream().map(ProcessHandle::pid).toList();
    }

    private static boolean isSocket(Path p) throws IOException {
        return Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                && ((Integer) Files.getAttribute(p, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS) & 0170000) == 0140000;
    }

    @Order(12)
    @Test
    void removeKeepsTheConfigurationAndPurgeLeavesNothing() throws IOException {
        check("dpkg", "-r", "saslauth");
        assertFalse(Files.exists(LAUNCHER), "the launcher is gone");
        assertTrue(Files.exists(INIT), "remove keeps the init script, a conffile");
        Result start = run(INIT.toString(), "start");
        assertEquals(0, start.status(), "the init script of a removed package does nothing: " + start.output());
        assertFalse(Files.exists(PIDFILE));
        assertTrue(Files.readString(CONFIG).contains(EDIT), "remove keeps the configuration");
        assertEquals(0, run("getent", "passwd", "saslauth").status(), "remove keeps the user");

        check("dpkg", "--purge", "saslauth");
        installedByUs = false;
        for (String path : List.of("/etc/saslauth", "/var/log/saslauth", "/var/cache/saslauth", "/usr/share/saslauth",
                "/usr/sbin/saslauth", "/etc/logrotate.d/saslauth", SERVICE.toString(), SOCKET.toString(),
                "/usr/share/doc/saslauth", "/usr/share/man/man8/saslauth.8.gz", "/usr/share/man/man5/saslauth.properties.5.gz",
                "/usr/share/bash-completion/completions/saslauth", "/var/lib/dpkg/info/saslauth.list",
                INIT.toString(), DEFAULTS.toString(), PAM.toString(), SPOOL.toString(), PIDFILE.toString())) {
            assertFalse(Files.exists(Path.of(path)), path + " is left after purge");
        }
        assertEquals(2, run("getent", "passwd", "saslauth").status(), "no saslauth user after purge");
        assertEquals(2, run("getent", "group", "saslauth").status(), "no saslauth group after purge");
        assertFalse(check("dpkg-statoverride", "--list").contains("saslauth"), "no stat override after purge");
        try (Stream<Path> links = Files.list(Path.of("/etc"))) {
            List<String> rc = links.filter(d -> d.getFileName().toString().matches("rc[0-6S]\\.d"))
                    .flatMap(d -> Stream.of(d.toFile().list())).filter(n -> n.endsWith("saslauth")).toList();
            assertEquals(List.of(), rc, "no init script link after purge");
        }
    }

    // --- plumbing -------------------------------------------------------------------------------

    private static List<String> asSaslauth(String... command) {
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=saslauth", "--regid=saslauth", "--init-groups", "--"));
        cmd.addAll(List.of(command));
        return cmd;
    }

    private static void awaitPath(Path path, Process process) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!Files.exists(path) && process.isAlive() && System.nanoTime() < deadline) {
            PostfixInstance.sleep(50);
        }
        assertTrue(Files.exists(path), "the daemon made " + path);
    }

    private static String installedVersion() throws IOException {
        return check("dpkg-query", "-W", "-f=${Version}", "saslauth");
    }

    private static boolean isRoot() {
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static Result run(String... command) throws IOException {
        return run(Map.of(), command);
    }

    private static Result run(Map<String, String> env, String... command) throws IOException {
        return PostfixInstance.run(Duration.ofMinutes(2), env(env), command);
    }

    private static Result run(Duration timeout, String... command) throws IOException {
        return PostfixInstance.run(timeout, env(Map.of()), command);
    }

    private static Map<String, String> env(Map<String, String> extra) {
        Map<String, String> env = new java.util.HashMap<>(extra);
        env.put("DEBIAN_FRONTEND", "noninteractive");
        return env;
    }

    /** stderr only (stdout dropped): for man's warnings. */
    private static Result runSplit(Map<String, String> env, String... command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().putAll(env);
        Process p = pb.start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            p.waitFor(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return new Result(p.exitValue(), err);
    }

    private static String check(String... command) throws IOException {
        return check(Map.of(), command);
    }

    private static String check(Map<String, String> env, String... command) throws IOException {
        Result r = run(env, command);
        if (r.status() != 0) {
            fail(String.join(" ", command) + " failed (" + r.status() + "):\n" + r.output());
        }
        return r.output();
    }
}
