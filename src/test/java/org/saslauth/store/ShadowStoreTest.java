package org.saslauth.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.LocalDate;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saslauth.Deadline;
import org.saslauth.store.CredentialStore.Verdict;

/**
 * passdb shadow on a shadow and a passwd file of the test's own, on a hand-moved clock and a
 * fixed date. The real accounts ({@code useradd}, {@code chpasswd}, {@code usermod -L}...) are
 * {@code SystemAccountsIT}'s.
 */
class ShadowStoreTest {

    private static final String ALICE = "$y$j9T$abcdefghijklmnop$dypbN0V2hlxjAQqNjTZ0ONR.9BanFD/ZOOwKsAvC703"; // alice-pw
    private static final String BOB = "$6$saltsaltsalt$nyONKHvhpxeeKcSRaaeBz3C7EpWii2qxLJ0r7GXjpiCqwuCx5WB5U9Z4/IHvGwxFfk1ctHyP8A74TRCrR/DKQ0"; // bob-pw
    private static final LocalDate TODAY = LocalDate.of(2026, 12, 3);

    @TempDir
    Path dir;

    private final AtomicLong clock = new AtomicLong();

    private ShadowStore store(String shadow, String passwd) throws Exception {
        Files.writeString(dir.resolve("shadow"), shadow);
        Files.writeString(dir.resolve("passwd"), passwd);
        return ShadowStore.open(dir.resolve("shadow"), 1000, true, clock::get, () -> TODAY);
    }

    private static final String PASSWD = String.join("\n",
            "root:x:0:0:root:/root:/bin/bash",
            "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin",
            "alice:x:1000:1000::/home/alice:/bin/bash",
            "bob:x:1001:1001::/home/bob:/bin/bash",
            "carol:x:1002:1002::/home/carol:/bin/bash",
            "dave:x:1003:1003::/home/dave:/bin/bash",
            "erin:x:1004:1004::/home/erin:/bin/bash",
            "frank:x:1005:1005::/home/frank:/bin/bash", "");

    private Verdict verify(ShadowStore s, String user, String password) {
        return s.verify(user, password.getBytes(StandardCharsets.UTF_8), PasswdFileTest.SLOTS, Deadline.NONE);
    }

    @Test
    void eachKindOfAccount() throws Exception {
        long today = TODAY.toEpochDay();
        ShadowStore s = store(String.join("\n",
                "root:" + BOB + ":19000:0:99999:7:::",
                "daemon:" + BOB + ":19000:0:99999:7:::",
                "alice:" + ALICE + ":19000:0:99999:7:::",
                "bob:" + BOB + ":19000:0:99999:7::" + (today + 30) + ":",
                "carol:!" + ALICE + ":19000:0:99999:7:::",
                "dave:" + ALICE + ":19000:0:99999:7::" + today + ":",
                "erin::19000:0:99999:7:::",
                "frank:*:19000:0:99999:7:::",
                "ghost:" + ALICE + ":19000:0:99999:7:::", ""), PASSWD);
        assertEquals(Verdict.ACCEPTED, verify(s, "alice", "alice-pw"), "yescrypt");
        assertEquals(Verdict.WRONG_PASSWORD, verify(s, "alice", "bob-pw"));
        assertEquals(Verdict.ACCEPTED, verify(s, "bob", "bob-pw"), "SHA-512, expiring in a month");
        assertTrue(!ShadowStore.expired("-1", today) && !ShadowStore.expired("", today)
                && !ShadowStore.expired("-99999999999999", today) && ShadowStore.expired("0", today),
                "-1 and empty never expire, as for glibc and pam_unix");
        assertEquals(Verdict.WRONG_PASSWORD, verify(s, "root", "bob-pw"), "uid 0: below shadow-min-uid");
        assertEquals(Verdict.WRONG_PASSWORD, verify(s, "daemon", "bob-pw"), "a system account");
        assertEquals(Verdict.WRONG_PASSWORD, verify(s, "carol", "alice-pw"), "locked with usermod -L");
        assertEquals(Verdict.WRONG_PASSWORD, verify(s, "dave", "alice-pw"), "expired today");
        assertEquals(Verdict.WRONG_PASSWORD, verify(s, "erin", ""), "an empty password field");
        assertEquals(Verdict.WRONG_PASSWORD, verify(s, "erin", "anything"), "an empty password field");
        assertEquals(Verdict.WRONG_PASSWORD, verify(s, "frank", "*"), "no password at all");
        assertEquals(Verdict.UNKNOWN_USER, verify(s, "ghost", "alice-pw"), "not in /etc/passwd");
        assertEquals(Verdict.UNKNOWN_USER, verify(s, "nobody-here", "x"));
        assertEquals(2, s.size());
    }

    @Test
    void aChangeIsReadWithinASecondAndUnreadableFilesKeepTheLastAccounts() throws Exception {
        ShadowStore s = store("alice:" + ALICE + ":19000::::::\n", PASSWD);
        assertEquals(Verdict.ACCEPTED, verify(s, "alice", "alice-pw"));
        Path shadow = dir.resolve("shadow");
        Files.writeString(shadow, "alice:" + BOB + ":19000::::::\n");
        Files.setLastModifiedTime(shadow, FileTime.fromMillis(System.currentTimeMillis() + 5000));
        assertEquals(Verdict.ACCEPTED, verify(s, "alice", "alice-pw"), "not looked at again within a second");
        clock.addAndGet(1_000_000_000L);
        assertEquals(Verdict.ACCEPTED, verify(s, "alice", "bob-pw"), "the new hash");
        Files.delete(dir.resolve("passwd"));
        clock.addAndGet(1_000_000_000L);
        assertEquals(Verdict.ACCEPTED, verify(s, "alice", "bob-pw"), "the accounts read before");
    }

    @Test
    void filesThatCannotBeReadAreTemporaryFailuresUntilTheyCanBe() throws Exception {
        Path shadow = dir.resolve("shadow");
        assertThrows(InvalidStoreConfig.class, () -> ShadowStore.open(shadow, 1000, true, clock::get, () -> TODAY),
                "saslauth test: an error now");
        ShadowStore s = ShadowStore.open(shadow, 1000, false, clock::get, () -> TODAY);
        assertEquals(Verdict.UNAVAILABLE, verify(s, "alice", "alice-pw"));
        Files.writeString(shadow, "alice:" + ALICE + ":19000::::::\n");
        Files.writeString(dir.resolve("passwd"), PASSWD);
        assertEquals(Verdict.UNAVAILABLE, verify(s, "alice", "alice-pw"), "looked at once a second at most");
        clock.addAndGet(1_000_000_000L);
        assertEquals(Verdict.ACCEPTED, verify(s, "alice", "alice-pw"), "served once readable");
    }

    /**
     * An unknown user, a locked account and a wrong password all run one yescrypt check: the
     * fastest of several rounds of each stay within a factor of each other (the fastest, since a
     * shared machine only ever adds time).
     */
    @Test
    void unknownAndRefusedUsersTakeAsLongAsAWrongPassword() throws Exception {
        ShadowStore s = store("alice:" + ALICE + ":19000::::::\ncarol:!" + ALICE + ":19000::::::\n", PASSWD);
        long wrong = Long.MAX_VALUE;
        long unknown = Long.MAX_VALUE;
        long locked = Long.MAX_VALUE;
        for (int i = 0; i < 7; i++) {
            wrong = Math.min(wrong, timed(() -> verify(s, "alice", "nope")));
            unknown = Math.min(unknown, timed(() -> verify(s, "zed", "nope")));
            locked = Math.min(locked, timed(() -> verify(s, "carol", "nope")));
        }
        assertTrue(unknown > wrong / 2 && locked > wrong / 2,
                "wrong " + wrong / 1000 + " us, unknown " + unknown / 1000 + " us, locked " + locked / 1000 + " us");
    }

    private static long timed(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        return System.nanoTime() - t0;
    }

    @Test
    void theMessageOfAShadowFileThatCannotBeReadNamesTheGroup() throws Exception {
        InvalidStoreConfig e = assertThrows(InvalidStoreConfig.class,
                () -> ShadowStore.open(dir.resolve("missing"), 1000, true, clock::get, () -> TODAY));
        assertTrue(e.getMessage().startsWith("passdb shadow: cannot read "), e.getMessage());
    }
}
