package org.saslauth.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.saslauth.Deadline;
import org.saslauth.ManualClock;
import org.saslauth.password.CostlyChecks;
import org.saslauth.protocol.CapturedLog;
import org.saslauth.store.CredentialStore.Verdict;

/** passdb checkpassword with real programs from src/test/resources/checkpassword. */
class CheckpasswordStoreTest {

    /** Slots for slow hashes, this test's own. */
    static final CostlyChecks SLOTS = new CostlyChecks(2);

    @TempDir
    Path dir;

    private Path program(String name) throws IOException {
        Path p = dir.resolve(name);
        try (InputStream in = getClass().getResourceAsStream("/checkpassword/" + name)) {
            Files.copy(in, p);
        }
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    private static byte[] pw(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void exitStatusesAreVerdicts() throws Exception {
        CheckpasswordStore store = CheckpasswordStore.open(program("check"));
        assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.WRONG_PASSWORD, store.verify("alice@example.org", pw("alice-passwort"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.WRONG_PASSWORD, store.verify("bob@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.WRONG_PASSWORD, store.verify("alice@example.org", pw(""), SLOTS, Deadline.NONE), "never run for no password");
        var run = CapturedLog.capture(() -> store.verify("tempfail@example.org", pw("x"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.UNAVAILABLE, run.result());
        assertTrue(run.log().raw().contains("exit status 111"), run.log().raw());
        var odd = CapturedLog.capture(() -> store.verify("weird@example.org", pw("x"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.UNAVAILABLE, odd.result());
        assertTrue(odd.log().raw().contains("status 7"), odd.log().raw());
    }

    @Test
    void namesThatAShellWouldInterpretAreJustNames() throws Exception {
        CheckpasswordStore store = CheckpasswordStore.open(program("check"));
        for (String name : new String[] {"$(touch " + dir.resolve("pwned") + ")", "`id`", "a; exit 0", "' \" \\",
            "alice@example.org\u0000x"}) {
            assertEquals(Verdict.WRONG_PASSWORD, store.verify(name, pw("alice-password"), SLOTS, Deadline.NONE), name);
        }
        assertTrue(Files.notExists(dir.resolve("pwned")));
    }

    /**
     * What the program is given, as it sees it: the name and password on descriptor 3 only (user
     * NUL password NUL, then end of input), an argv of itself and the program to run, an
     * environment of PATH (and the PWD that /bin/sh adds), /dev/null as stdin, and no descriptor
     * of the server's beyond 0 to 3.
     */
    @Test
    void theProgramGetsTheSecretOnDescriptor3AndNothingElse() throws Exception {
        Path report = Files.createDirectory(dir.resolve("report"));
        Path probe = dir.resolve("probe");
        Files.writeString(probe, String.join("\n",
                "#!/usr/bin/python3 -I",
                "import os, sys",
                "fds = []",
                "for fd in sorted(os.listdir('/proc/self/fd'), key=int):",
                "    try:",
                "        fds.append(fd + ' ' + os.readlink('/proc/self/fd/' + fd))",
                "    except OSError:",
                "        pass  # the descriptor of the listing itself, closed by now",
                "R = '" + report + "/'",
                "environ = open('/proc/self/environ', 'rb').read()",
                "cmdline = open('/proc/self/cmdline', 'rb').read()",
                "stdin = os.read(0, 100)",
                "fd3 = b''",
                "while True:",
                "    chunk = os.read(3, 4096)",
                "    if not chunk:",
                "        break",
                "    fd3 += chunk",
                "for name, data in (('fds', '\\n'.join(fds).encode()), ('environ', environ), ('cmdline', cmdline),",
                "                   ('argv', '\\0'.join(sys.argv).encode()), ('stdin', stdin), ('fd3', fd3)):",
                "    with open(R + name, 'wb') as f:",
                "        f.write(data)",
                "os.execv(sys.argv[1], sys.argv[1:])",
                ""));
        Files.setPosixFilePermissions(probe, PosixFilePermissions.fromString("rwxr-xr-x"));
        String user = "alice@example.org";
        String password = "Pw-\u00e9-$(id)-7Qx";
        CheckpasswordStore store = CheckpasswordStore.open(probe);
        assertEquals(Verdict.ACCEPTED, store.verify(user, pw(password), SLOTS, Deadline.NONE), "the probe ran its argument");

        byte[] expected = (user + "\0" + password + "\0").getBytes(StandardCharsets.UTF_8);
        assertEquals(java.util.HexFormat.of().formatHex(expected),
                java.util.HexFormat.of().formatHex(Files.readAllBytes(report.resolve("fd3"))),
                "descriptor 3: user NUL password NUL, then end of input");
        assertEquals(0, Files.readAllBytes(report.resolve("stdin")).length, "stdin is empty");
        assertEquals(java.util.List.of(probe.toString(), "/bin/true"),
                java.util.List.of(Files.readString(report.resolve("argv")).split("\0")), "argv");

        String cmdline = Files.readString(report.resolve("cmdline"), StandardCharsets.UTF_8);
        String environ = Files.readString(report.resolve("environ"), StandardCharsets.UTF_8);
        for (String secret : new String[] {password, "Pw-", "7Qx", user}) {
            assertFalse(cmdline.contains(secret), "in the command line: " + cmdline.replace('\0', ' '));
            assertFalse(environ.contains(secret), "in the environment: " + environ.replace('\0', ' '));
        }
        java.util.Map<String, String> env = new java.util.TreeMap<>();
        for (String kv : environ.split("\0")) {
            if (!kv.isEmpty()) {
                env.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
            }
        }
        assertEquals("/usr/local/bin:/usr/bin:/bin", env.get("PATH"), env.toString());
        env.keySet().removeAll(java.util.Set.of("PATH", "PWD"));
        assertEquals(java.util.Map.of(), env, "nothing of the server's environment");

        java.util.Map<String, String> fds = new java.util.TreeMap<>();
        for (String line : Files.readAllLines(report.resolve("fds"))) {
            fds.put(line.substring(0, line.indexOf(' ')), line.substring(line.indexOf(' ') + 1));
        }
        assertEquals(java.util.Set.of("0", "1", "2", "3"), fds.keySet(), "descriptors: " + fds);
        assertEquals("/dev/null", fds.get("0"));
        assertEquals("/dev/null", fds.get("1"), "stdout discarded");
        assertEquals("/dev/null", fds.get("2"), "stderr discarded");
        assertTrue(fds.get("3").startsWith("pipe:"), fds.toString());
    }

    /** A hang here would be the bug: the timeout ends the test then; the log shows the kill. */
    @Test
    @Timeout(30)
    void aProgramThatHangsIsKilledAtTheTimeLimit() throws Exception {
        CheckpasswordStore store = CheckpasswordStore.open(program("hang"), Duration.ofMillis(700));
        var run = CapturedLog.capture(() -> store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.UNAVAILABLE, run.result());
        assertTrue(run.log().raw().contains("killed"), run.log().raw());
        var second = CapturedLog.capture(() -> store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.UNAVAILABLE, second.result());
        assertTrue(second.log().events().stream().noneMatch(l -> l.contains("ERROR")), "one line per outage");
    }

    /** A program that marks {@code marker} when it starts, then runs until killed. */
    private Path markingHang(Path marker) throws IOException {
        Path p = dir.resolve("mark-and-hang");
        Files.writeString(p, "#!/bin/sh\n: > '" + marker + "'\nexec sleep 600\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    /** The login's deadline ends the wait when it comes before the time limit: killed, unavailable. */
    @Test
    void aProgramStillRunningAtTheDeadlineIsKilledThen() throws Exception {
        Path marker = dir.resolve("started");
        CheckpasswordStore store = CheckpasswordStore.open(markingHang(marker), Duration.ofMinutes(5));
        ManualClock clock = new ManualClock();
        Deadline deadline = Deadline.in(clock, Duration.ofSeconds(2));
        ExecutorService login = Executors.newSingleThreadExecutor();
        try {
            Future<CapturedLog.Run<Verdict>> run = login.submit(() -> CapturedLog.capture(
                    () -> store.verify("alice@example.org", pw("alice-password"), SLOTS, deadline)));
            while (!Files.exists(marker)) {
                Thread.onSpinWait();
            }
            assertFalse(run.isDone());
            clock.advanceMillis(2000);
            assertEquals(Verdict.UNAVAILABLE, run.get().result());
            assertTrue(run.get().log().raw().contains("killed"), run.get().log().raw());
        } finally {
            login.shutdownNow();
        }
    }

    @Test
    void noProgramIsStartedOnceTheDeadlineHasPassed() throws Exception {
        Path marker = dir.resolve("started");
        CheckpasswordStore store = CheckpasswordStore.open(markingHang(marker), Duration.ofMinutes(5));
        ManualClock clock = new ManualClock();
        Deadline deadline = Deadline.in(clock, Duration.ofSeconds(2));
        clock.advanceMillis(2000);
        assertEquals(Verdict.UNAVAILABLE, store.verify("alice@example.org", pw("alice-password"), SLOTS, deadline));
        assertFalse(Files.exists(marker));
    }

    @Test
    void aProgramThatFloodsItsOutputCostsNothingAndIsKilled() throws Exception {
        CheckpasswordStore store = CheckpasswordStore.open(program("flood"), Duration.ofMillis(700));
        long used = usedHeap();
        assertEquals(Verdict.UNAVAILABLE, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        assertTrue(usedHeap() - used < 64 << 20, "output is not kept");
    }

    @Test
    void aMissingOrRelativeProgramIsRefusedAtStart() {
        assertThrows(InvalidStoreConfig.class, () -> CheckpasswordStore.open(dir.resolve("missing")));
        assertThrows(InvalidStoreConfig.class, () -> CheckpasswordStore.open(Path.of("check")));
    }

    private static long usedHeap() {
        Runtime r = Runtime.getRuntime();
        return r.totalMemory() - r.freeMemory();
    }
}
