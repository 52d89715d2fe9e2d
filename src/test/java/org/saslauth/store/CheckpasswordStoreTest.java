package org.saslauth.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saslauth.protocol.CapturedLog;
import org.saslauth.store.CredentialStore.Verdict;

/** passdb checkpassword with real programs from src/test/resources/checkpassword. */
class CheckpasswordStoreTest {

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
        assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password")));
        assertEquals(Verdict.WRONG_PASSWORD, store.verify("alice@example.org", pw("alice-passwort")));
        assertEquals(Verdict.WRONG_PASSWORD, store.verify("bob@example.org", pw("alice-password")));
        assertEquals(Verdict.WRONG_PASSWORD, store.verify("alice@example.org", pw("")), "never run for no password");
        var run = CapturedLog.capture(() -> store.verify("tempfail@example.org", pw("x")));
        assertEquals(Verdict.UNAVAILABLE, run.result());
        assertTrue(run.log().raw().contains("exit status 111"), run.log().raw());
        var odd = CapturedLog.capture(() -> store.verify("weird@example.org", pw("x")));
        assertEquals(Verdict.UNAVAILABLE, odd.result());
        assertTrue(odd.log().raw().contains("status 7"), odd.log().raw());
    }

    @Test
    void namesThatAShellWouldInterpretAreJustNames() throws Exception {
        CheckpasswordStore store = CheckpasswordStore.open(program("check"));
        for (String name : new String[] {"$(touch " + dir.resolve("pwned") + ")", "`id`", "a; exit 0", "' \" \\",
            "alice@example.org\u0000x"}) {
            assertEquals(Verdict.WRONG_PASSWORD, store.verify(name, pw("alice-password")), name);
        }
        assertTrue(Files.notExists(dir.resolve("pwned")));
    }

    @Test
    void aProgramThatHangsIsKilledAtTheTimeLimit() throws Exception {
        CheckpasswordStore store = CheckpasswordStore.open(program("hang"), Duration.ofMillis(700));
        long t0 = System.nanoTime();
        var run = CapturedLog.capture(() -> store.verify("alice@example.org", pw("alice-password")));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(Verdict.UNAVAILABLE, run.result());
        assertTrue(ms < 3000, ms + " ms");
        assertTrue(run.log().raw().contains("killed"), run.log().raw());
        var second = CapturedLog.capture(() -> store.verify("alice@example.org", pw("alice-password")));
        assertEquals(Verdict.UNAVAILABLE, second.result());
        assertTrue(second.log().events().stream().noneMatch(l -> l.contains("ERROR")), "one line per outage");
    }

    @Test
    void aProgramThatFloodsItsOutputCostsNothingAndIsKilled() throws Exception {
        CheckpasswordStore store = CheckpasswordStore.open(program("flood"), Duration.ofMillis(700));
        long used = usedHeap();
        assertEquals(Verdict.UNAVAILABLE, store.verify("alice@example.org", pw("alice-password")));
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
