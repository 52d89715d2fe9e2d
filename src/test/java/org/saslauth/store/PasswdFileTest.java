package org.saslauth.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.saslauth.Deadline;
import org.saslauth.password.CostlyChecks;
import org.saslauth.password.PasswordHash;
import org.saslauth.password.PasswordSchemes;
import org.saslauth.password.ScramHash;
import org.saslauth.password.ScramShape;
import org.saslauth.store.CredentialStore.Verdict;

class PasswdFileTest {

    /** Slots for slow hashes, this test's own. */
    static final CostlyChecks SLOTS = new CostlyChecks(2);

    @TempDir
    Path dir;

    private final AtomicLong clock = new AtomicLong(1_000_000_000L);

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private Path write(String content) throws IOException {
        Path file = dir.resolve("users");
        Files.writeString(file, content, StandardCharsets.UTF_8);
        return file;
    }

    private long age = 100_000;

    /** Rewrites the file, with an mtime that differs from the last and is old enough to be read. */
    private void edit(Path file, String content) throws IOException {
        Files.writeString(file, content, StandardCharsets.UTF_8);
        Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis() - age--));
    }

    private PasswdFile load(Path file) throws PasswdFile.Invalid {
        return PasswdFile.load(file, Duration.ofSeconds(1), Duration.ofSeconds(1), clock::get);
    }

    private void secondsPass(int seconds) {
        clock.addAndGet(seconds * 1_000_000_000L);
    }

    /** yescrypt lines as /etc/shadow holds them, with {CRYPT} or without a scheme: libxcrypt checks them. */
    @Test
    void yescryptEntriesFromShadow() throws Exception {
        String hash = "$y$j9T$abcdefghijklmnop$dypbN0V2hlxjAQqNjTZ0ONR.9BanFD/ZOOwKsAvC703"; // alice-pw, by libxcrypt
        PasswdFile users = load(write("alice:{CRYPT}" + hash + "\nbob:" + hash + ":1000:1000::/home/bob:/bin/sh\n"));
        for (String user : new String[] {"alice", "bob"}) {
            assertEquals(Verdict.ACCEPTED, users.verify(user, bytes("alice-pw"), SLOTS, Deadline.NONE), user);
            assertEquals(Verdict.WRONG_PASSWORD, users.verify(user, bytes("alice-pw "), SLOTS, Deadline.NONE), user);
        }
        assertEquals(Verdict.UNKNOWN_USER, users.verify("carol", bytes("alice-pw"), SLOTS, Deadline.NONE));
    }

    @Test
    void readsUsersOfEverySchemeFamily() throws Exception {
        Path file = write("""
                # comment

                alice:{PLAIN}wonderland:1000:1000::/home/alice:/bin/sh
                bob:{SSHA}MKHFlSvGLKpMOku7uduZK6XQ3nZ/Ip2a
                carol:$1$C3HBaDbH$fqxd7TmqmuHgkSLtuCfJe.
                user@realm:{DIGEST-MD5}fb6cb9e166c6c764ff2bdea12175a8aa
                alice:{PLAIN}second-line-ignored
                """);
        PasswdFile users = org.saslauth.protocol.CapturedLog.capture(() -> load(file)).result(); // warns: alice twice
        assertEquals(4, users.size());
        assertEquals(Verdict.ACCEPTED, users.verify("alice", bytes("wonderland"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.WRONG_PASSWORD, users.verify("alice", bytes("second-line-ignored"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.ACCEPTED, users.verify("bob", bytes("secret"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.ACCEPTED, users.verify("carol", bytes("secret"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.ACCEPTED, users.verify("user@realm", bytes("secret"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.UNKNOWN_USER, users.verify("dave", bytes("secret"), SLOTS, Deadline.NONE));
    }

    @Test
    void lockedAccountsFromShadowLoadAndRefuseEveryPassword() throws Exception {
        Path file = write("""
                root:*:0:0::/root:/bin/sh
                daemon:!!:1:1::/:/usr/sbin/nologin
                alice:!$1$C3HBaDbH$fqxd7TmqmuHgkSLtuCfJe.:1000:1000::/home/alice:/bin/sh
                bob:{CRYPT}*LK*$1$C3HBaDbH$fqxd7TmqmuHgkSLtuCfJe.
                carol:$1$C3HBaDbH$fqxd7TmqmuHgkSLtuCfJe.
                """);
        PasswdFile users = load(file);
        assertEquals(5, users.size());
        for (String user : new String[] {"root", "daemon", "alice", "bob"}) {
            for (String password : new String[] {"secret", "", "*", "!!"}) {
                assertEquals(Verdict.WRONG_PASSWORD, users.verify(user, bytes(password), SLOTS, Deadline.NONE), user + " / " + password);
            }
        }
        assertEquals(Verdict.ACCEPTED, users.verify("carol", bytes("secret"), SLOTS, Deadline.NONE), "the same hash, not locked");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "bob:{FOO}bar                 | line 2: user \"bob\": unknown password scheme \"{FOO}\"",
        "bob:{SHA256}abc              | line 2: user \"bob\": {SHA256} data is 2 bytes, not 32",
        "bob:$y$jFT$abc$def           | line 2: user \"bob\": {CRYPT} yescrypt memory of 1024 MiB is over saslauth's limit of 256 MiB",
        "bob:$9$abc$def               | line 2: user \"bob\": {CRYPT} data is not a crypt(3) hash saslauth knows",
        "bob                          | line 2: expected user:password",
        "bob::1000                    | line 2: user \"bob\" has an empty password field",
        "bob:{PLAIN-TRUNC}0-:1000     | line 2: user \"bob\": {PLAIN-TRUNC} length must be at least 1 (a length of 0 accepts any password)",
    })
    void aBrokenLineIsNamed(String line, String message) throws IOException {
        Path file = write("alice:{PLAIN}x\n" + line + "\n");
        PasswdFile.Invalid e = assertThrows(PasswdFile.Invalid.class, () -> load(file));
        assertEquals(file + " " + message, e.getMessage().substring(0, Math.min(e.getMessage().length(),
                (file + " " + message).length())));
    }

    @Test
    void aMissingFileIsInvalid() {
        PasswdFile.Invalid e = assertThrows(PasswdFile.Invalid.class, () -> load(dir.resolve("none")));
        assertTrue(e.getMessage().endsWith("no such file"), e.getMessage());
    }

    @Test
    void aNewUserCanLogInOnceTheRecheckIsDue() throws Exception {
        Path file = write("alice:{PLAIN}a\n");
        PasswdFile users = load(file);
        edit(file, "alice:{PLAIN}a\nbob:{PLAIN}b\n");
        assertEquals(Verdict.UNKNOWN_USER, users.verify("bob", bytes("b"), SLOTS, Deadline.NONE), "looked again too soon");
        secondsPass(1);
        assertEquals(Verdict.ACCEPTED, users.verify("bob", bytes("b"), SLOTS, Deadline.NONE));
        assertEquals(2, users.size());
    }

    /** SIGHUP in a daemon: the change is read at once, without waiting for the recheck or the settling. */
    @Test
    void reloadReadsAChangeAtOnce() throws Exception {
        Path file = write("alice:{PLAIN}a\n");
        PasswdFile users = load(file);
        edit(file, "alice:{PLAIN}a\nbob:{PLAIN}b\n");
        assertEquals(Verdict.UNKNOWN_USER, users.verify("bob", bytes("b"), SLOTS, Deadline.NONE), "looked again too soon");
        users.reload();
        assertEquals(Verdict.ACCEPTED, users.verify("bob", bytes("b"), SLOTS, Deadline.NONE));
    }

    /**
     * What SCRAM makes of users without keys: the most common entry's iterations and salt length,
     * and whether {@code {PLAIN}} entries are at least as many (keys derived at the proof),
     * found again at each reload.
     */
    @Test
    void theMostCommonScramEntryIsFoundAtEachLoad() throws Exception {
        String at4096 = PasswordSchemes.hash("SCRAM-SHA-256", bytes("a"), OptionalInt.of(4096));
        String at10000 = PasswordSchemes.hash("SCRAM-SHA-256", bytes("a"), OptionalInt.of(10000));
        String sha1 = PasswordSchemes.hash("SCRAM-SHA-1", bytes("a"), OptionalInt.of(5000));
        Path file = write("alice:{PLAIN}a\nbob:" + at4096 + "\ncarol:" + sha1 + "\n");
        PasswdFile users = load(file);
        assertEquals(new ScramShape(4096, 16, true), users.scramShape(ScramHash.SHA_256), "one {PLAIN}, one SCRAM-SHA-256");
        assertEquals(new ScramShape(5000, 16, true), users.scramShape(ScramHash.SHA_1));
        edit(file, "alice:{PLAIN}a\nbob:" + at4096 + "\ncarol:" + at10000 + "\ndave:" + at10000 + "\n");
        users.reload();
        assertEquals(new ScramShape(10000, 16, false), users.scramShape(ScramHash.SHA_256), "more with keys than {PLAIN}");
        assertEquals(ScramShape.DEFAULT, users.scramShape(ScramHash.SHA_1), "no SCRAM-SHA-1 entry left");
    }

    @Test
    void aFileReplacedByRenameIsSeen() throws Exception {
        Path file = write("alice:{PLAIN}a\n");
        PasswdFile users = load(file);
        Path next = dir.resolve("users.new");
        Files.writeString(next, "alice:{PLAIN}b\n");
        Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis() - 5000));
        Files.setLastModifiedTime(next, Files.getLastModifiedTime(file));
        Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        secondsPass(2);
        assertEquals(Verdict.ACCEPTED, users.verify("alice", bytes("b"), SLOTS, Deadline.NONE));
    }

    @Test
    void aBrokenEditKeepsTheLastGoodVersionUntilItIsFixed() throws Exception {
        Path file = write("alice:{PLAIN}a\n");
        PasswdFile users = load(file);
        edit(file, "alice:{PLAIN}a\nbob:{NOPE}b\n");
        secondsPass(1);
        assertEquals(Verdict.ACCEPTED, users.verify("alice", bytes("a"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.UNKNOWN_USER, users.verify("bob", bytes("b"), SLOTS, Deadline.NONE));
        secondsPass(1);
        assertEquals(Verdict.ACCEPTED, users.verify("alice", bytes("a"), SLOTS, Deadline.NONE), "the broken version is not retried");

        edit(file, "alice:{PLAIN}a\nbob:{PLAIN}b\n");
        secondsPass(1);
        assertEquals(Verdict.ACCEPTED, users.verify("bob", bytes("b"), SLOTS, Deadline.NONE));
    }

    @Test
    void aDeletedFileKeepsTheLastGoodVersion() throws Exception {
        Path file = write("alice:{PLAIN}a\n");
        PasswdFile users = load(file);
        Files.delete(file);
        secondsPass(1);
        assertEquals(Verdict.ACCEPTED, users.verify("alice", bytes("a"), SLOTS, Deadline.NONE));
        edit(write("alice:{PLAIN}new\n"), "alice:{PLAIN}new\n");
        secondsPass(1);
        assertEquals(Verdict.ACCEPTED, users.verify("alice", bytes("new"), SLOTS, Deadline.NONE));
    }

    @Test
    void aChangeIsReadOnlyOnceItHasSettled() throws Exception {
        Path file = write("alice:{PLAIN}a\n");
        PasswdFile users = load(file);
        Files.writeString(file, "alice:{PLAIN}a\nbob:{PLAIN}b\n"); // mtime: now
        secondsPass(1);
        assertEquals(Verdict.UNKNOWN_USER, users.verify("bob", bytes("b"), SLOTS, Deadline.NONE), "read while maybe being written");
        Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis() - 1500));
        secondsPass(1);
        assertEquals(Verdict.ACCEPTED, users.verify("bob", bytes("b"), SLOTS, Deadline.NONE));
    }

    @Test
    void aFileDatedInTheFutureIsStillRead() throws Exception {
        Path file = write("alice:{PLAIN}a\n");
        PasswdFile users = load(file);
        Files.writeString(file, "alice:{PLAIN}b\n");
        Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis() + 3_600_000));
        secondsPass(1);
        assertEquals(Verdict.ACCEPTED, users.verify("alice", bytes("b"), SLOTS, Deadline.NONE));
    }

    /** Edits by rename, as careful tools do: a login sees the old or the new file, never neither. */
    @Test
    void concurrentLoginsDuringReloadsSeeOneVersionOrTheOther() throws Exception {
        Path file = write("alice:{PLAIN}a\n");
        PasswdFile users = PasswdFile.load(file, Duration.ZERO, Duration.ZERO, System::nanoTime);
        Thread[] threads = new Thread[4];
        AtomicLong wrong = new AtomicLong();
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                for (int i = 0; i < 2000; i++) {
                    if (users.verify("alice", bytes("a"), SLOTS, Deadline.NONE) != Verdict.ACCEPTED) {
                        wrong.incrementAndGet();
                    }
                }
            });
            threads[t].start();
        }
        for (int i = 0; i < 50; i++) {
            Path next = dir.resolve("users.new");
            Files.writeString(next, "alice:{PLAIN}a\n" + "u" + i + ":{PLAIN}x\n");
            Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(0, wrong.get());
    }

    /**
     * No slot for a slow hash before the deadline: too busy, for a known user and an unknown one
     * alike (whose check against the costliest entry needs the slot too), never a wrong password.
     */
    @Test
    void aCheckThatFindsNoSlotBeforeItsDeadlineIsOverloaded() throws Exception {
        PasswdFile file = load(write("alice:{SHA512-CRYPT}$6$DE8UOleSdck/w0i.$k1RLaR1G4wuxyEQ.wAmoR/ggxI1yEACfr9ct"
                + "/n0tsoBp/NK7L6asiDxIwUk.FpeOYqv0PbijZVjBY8LzJrT.50\n"));
        CostlyChecks slots = new CostlyChecks(1);
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        PasswordHash slow = new PasswordHash() {
            @Override
            public String scheme() {
                return "SLOW";
            }

            @Override
            public boolean matches(byte[] password) {
                holding.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return false;
            }

            @Override
            public long cost() {
                return 1_000_000;
            }
        };
        Thread holder = new Thread(() -> slots.check(slow, bytes("x"), Deadline.NONE));
        holder.start();
        holding.await();
        Deadline due = Deadline.at(clock::get, clock.get()); // due now
        assertEquals(Verdict.OVERLOADED, file.verify("alice", bytes("guess"), slots, due));
        assertEquals(Verdict.OVERLOADED, file.verify("nobody", bytes("guess"), slots, due));
        release.countDown();
        holder.join();
        assertEquals(Verdict.WRONG_PASSWORD, file.verify("alice", bytes("guess"), slots,
                Deadline.in(clock::get, Duration.ofSeconds(9))), "the slot is free again");
        assertEquals(Verdict.UNKNOWN_USER, file.verify("nobody", bytes("guess"), slots,
                Deadline.in(clock::get, Duration.ofSeconds(9))));
    }
}
