package org.saslauth.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.Arrays;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saslauth.Deadline;
import org.saslauth.password.CostlyChecks;
import org.saslauth.password.PasswordSchemes;
import org.saslauth.protocol.CapturedLog;
import org.saslauth.store.CredentialStore.Verdict;

/**
 * Issue 10, findings 2, 6 and 8: what the passwd file may be (a regular file of bounded size,
 * checked before it is opened), a BOM, duplicate users, and an unknown user costing as much as
 * a known one.
 */
class PasswdFileHardeningTest {

    /** Slots for slow hashes, this test's own. */
    static final CostlyChecks SLOTS = new CostlyChecks(2);

    @TempDir
    Path dir;

    private final AtomicLong clock = new AtomicLong(1_000_000_000L);

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private Path users(String content) throws IOException {
        Path file = dir.resolve("users");
        Files.writeString(file, content, StandardCharsets.UTF_8);
        Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis() - 100_000));
        return file;
    }

    private PasswdFile load(Path file) throws PasswdFile.Invalid {
        return PasswdFile.load(file, Duration.ofSeconds(1), Duration.ofSeconds(1), clock::get);
    }

    /** Removes the links to /dev/zero, which JUnit would warn about on the console. */
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

    private static void mkfifo(Path path) throws Exception {
        Process p = new ProcessBuilder("mkfifo", path.toString()).start();
        assertEquals(0, p.waitFor());
    }

    @Test
    void aByteOrderMarkIsSkipped() throws Exception {
        PasswdFile file = load(users("\uFEFFalice:{PLAIN}a\nbob:{PLAIN}b\n"));
        assertEquals(Verdict.ACCEPTED, file.verify("alice", bytes("a"), SLOTS, Deadline.NONE), "the first user is not locked out");
        assertEquals(Verdict.ACCEPTED, file.verify("bob", bytes("b"), SLOTS, Deadline.NONE));
    }

    @Test
    void duplicateUsersAreWarnedAboutAndTheFirstLineWins() throws Exception {
        Path path = users("alice:{PLAIN}first\nbob:{PLAIN}b\nalice:{PLAIN}second\n");
        CapturedLog.Run<PasswdFile> run = CapturedLog.capture(() -> load(path));
        assertEquals(Verdict.ACCEPTED, run.result().verify("alice", bytes("first"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.WRONG_PASSWORD, run.result().verify("alice", bytes("second"), SLOTS, Deadline.NONE));
        assertTrue(run.log().raw().contains(path + " line 3: user \"alice\" is listed again (first on line 1)"),
                run.log().raw());
    }

    @Test
    void manyDuplicatesAreFoldedIntoOneLine() throws Exception {
        StringBuilder content = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            content.append("alice:{PLAIN}x").append(i).append('\n');
        }
        Path path = users(content.toString());
        CapturedLog.Run<PasswdFile> run = CapturedLog.capture(() -> load(path));
        assertTrue(run.log().events().size() <= 6, run.log().raw());
        assertTrue(run.log().raw().contains("94 more users listed again"), run.log().raw());
    }

    @Test
    void aDirectoryFifoOrDeviceIsRefusedAtLoadWithoutOpeningIt() throws Exception {
        Path fifo = dir.resolve("fifo");
        mkfifo(fifo);
        Path zero = dir.resolve("zero");
        Files.createSymbolicLink(zero, Path.of("/dev/zero"));
        Path directory = Files.createDirectory(dir.resolve("directory"));
        for (Path path : new Path[] {fifo, zero, directory, Path.of("/dev/null")}) {
            PasswdFile.Invalid e = assertTimeoutPreemptively(Duration.ofSeconds(10),
                    () -> assertThrows(PasswdFile.Invalid.class, () -> load(path)));
            assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
        }
        PasswdFile.Invalid e = assertThrows(PasswdFile.Invalid.class, () -> load(fifo));
        assertTrue(e.getMessage().contains("a FIFO"), e.getMessage());
        e = assertThrows(PasswdFile.Invalid.class, () -> load(zero));
        assertTrue(e.getMessage().contains("a device"), e.getMessage());
    }

    @Test
    void aFileOverTheSizeLimitIsRefused() throws Exception {
        Path path = dir.resolve("users");
        byte[] content = new byte[PasswdFile.MAX_BYTES + 1];
        Arrays.fill(content, (byte) '#');
        content[content.length - 1] = '\n';
        Files.write(path, content);
        PasswdFile.Invalid e = assertThrows(PasswdFile.Invalid.class, () -> load(path));
        assertTrue(e.getMessage().contains("larger than " + PasswdFile.MAX_BYTES / 1_048_576 + " MiB"),
                e.getMessage());
    }

    @Test
    void moreUsersThanTheLimitAreRefused() throws Exception {
        StringBuilder content = new StringBuilder();
        for (int i = 0; i <= PasswdFile.MAX_USERS; i++) {
            content.append('u').append(i).append(":{PLAIN}p\n");
        }
        PasswdFile.Invalid e = assertThrows(PasswdFile.Invalid.class, () -> load(users(content.toString())));
        assertTrue(e.getMessage().contains("more than " + PasswdFile.MAX_USERS + " users"), e.getMessage());
    }

    /** The file swapped while serving for what would hang or exhaust the helper. */
    @Test
    void aFileThatBecomesAFifoADeviceOrTooLargeKeepsTheLastGoodVersion() throws Exception {
        Path path = users("alice:{PLAIN}a\n");
        PasswdFile file = load(path);
        CapturedLog.Run<Void> run = CapturedLog.capture(() -> {
            Files.delete(path);
            mkfifo(path);
            // not Files.setLastModifiedTime, which opens the file: touch sets it by name
            assertEquals(0, new ProcessBuilder("touch", "-m", "-d", "@" + (System.currentTimeMillis() / 1000 - 100),
                    path.toString()).start().waitFor());
            clock.addAndGet(2_000_000_000L);
            assertTimeoutPreemptively(Duration.ofSeconds(10),
                    () -> assertEquals(Verdict.ACCEPTED, file.verify("alice", bytes("a"), SLOTS, Deadline.NONE), "FIFO"));

            Files.delete(path);
            Files.createSymbolicLink(path, Path.of("/dev/zero"));
            clock.addAndGet(2_000_000_000L);
            assertTimeoutPreemptively(Duration.ofSeconds(10),
                    () -> assertEquals(Verdict.ACCEPTED, file.verify("alice", bytes("a"), SLOTS, Deadline.NONE), "/dev/zero"));

            Files.delete(path);
            byte[] big = new byte[PasswdFile.MAX_BYTES + 100];
            Arrays.fill(big, (byte) '#');
            Files.write(path, big);
            Files.setLastModifiedTime(path, FileTime.fromMillis(System.currentTimeMillis() - 100_000));
            clock.addAndGet(2_000_000_000L);
            assertEquals(Verdict.ACCEPTED, file.verify("alice", bytes("a"), SLOTS, Deadline.NONE), "too large");
            return null;
        });
        String log = run.log().raw();
        assertTrue(log.contains("a FIFO, not a regular file"), log);
        assertTrue(log.contains("a device, not a regular file"), log);
        assertTrue(log.contains("larger than"), log);
    }

    /**
     * The fastest of the rounds: what the check itself costs, the least disturbed by whatever
     * else the machine runs (a median still moves when a busy machine slows half the rounds).
     */
    private static long fastest(long[] values) {
        return Arrays.stream(values).min().orElseThrow();
    }

    /**
     * Finding 2: an unknown user answered at once while a known user's hash ran, so that the
     * time told them apart whenever the hash outlasted the failure delay. Known and unknown users
     * are timed in one run, interleaved, with the longest password a login accepts.
     */
    /**
     * Waits for libxcrypt's binding, which loads in the background at the first crypt hash and
     * meanwhile leaves the hashes to the Java code: timed rounds on both sides of that moment
     * would compare Java with C. A yescrypt hash, which only libxcrypt computes, waits for it.
     */
    static void libxcryptLoaded() {
        PasswordSchemes.parse("{CRYPT}$y$j9T$abcdefghijklmnop$dypbN0V2hlxjAQqNjTZ0ONR.9BanFD/ZOOwKsAvC703")
                .matches("alice-pw".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void anUnknownUserCostsWhatAKnownUserCosts() throws Exception {
        libxcryptLoaded();
        String hash = PasswordSchemes.hash("SHA512-CRYPT", bytes("secret"), OptionalInt.of(5000));
        PasswdFile file = load(users("alice:" + hash + "\ncarol:{PLAIN}cheap\n"));
        byte[] guess = bytes("g".repeat(org.saslauth.mech.Credentials.MAX_PASSWORD_BYTES));
        int rounds = 9;
        long[] known = new long[rounds];
        long[] unknown = new long[rounds];
        for (int i = -2; i < rounds; i++) { // two rounds to warm up
            long t0 = System.nanoTime();
            assertEquals(Verdict.WRONG_PASSWORD, file.verify("alice", guess, SLOTS, Deadline.NONE));
            long t1 = System.nanoTime();
            assertEquals(Verdict.UNKNOWN_USER, file.verify("nobody" + i, guess, SLOTS, Deadline.NONE));
            long t2 = System.nanoTime();
            if (i >= 0) {
                known[i] = t1 - t0;
                unknown[i] = t2 - t1;
            }
        }
        double ratio = (double) fastest(unknown) / fastest(known);
        assertTrue(ratio > 0.6 && ratio < 1.6, "unknown/known = " + ratio + " (known " + fastest(known) / 1000
                + " us, unknown " + fastest(unknown) / 1000 + " us)");
    }

    /** With schemes mixed, an unknown user is checked against the costliest entry. */
    @Test
    void inAMixedFileAnUnknownUserCostsAsTheCostliestEntry() throws Exception {
        libxcryptLoaded();
        String costly = PasswordSchemes.hash("SHA512-CRYPT", bytes("secret"), OptionalInt.of(5000));
        String cheap = PasswordSchemes.hash("SHA512-CRYPT", bytes("secret"), OptionalInt.of(1000));
        PasswdFile file = load(users("bob:" + cheap + "\nalice:" + costly + "\ncarol:{SSHA}MKHFlSvGLKpMOku7uduZK6XQ3nZ/Ip2a\n"));
        byte[] guess = bytes("g".repeat(100));
        long[] known = new long[7];
        long[] unknown = new long[7];
        for (int i = -2; i < known.length; i++) {
            long t0 = System.nanoTime();
            file.verify("alice", guess, SLOTS, Deadline.NONE);
            long t1 = System.nanoTime();
            file.verify("nobody", guess, SLOTS, Deadline.NONE);
            long t2 = System.nanoTime();
            if (i >= 0) {
                known[i] = t1 - t0;
                unknown[i] = t2 - t1;
            }
        }
        double ratio = (double) fastest(unknown) / fastest(known);
        assertTrue(ratio > 0.6 && ratio < 1.6, "unknown/costliest known = " + ratio);
    }
}
