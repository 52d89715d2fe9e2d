package org.saslauth.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.saslauth.Deadline;
import org.saslauth.password.PasswordSchemes;

class AppPasswordFileTest {

    /** An app password's hash, made once: {@code k7qm-2xwe-h9tz-p4rn}. */
    static final String HASH = PasswordSchemes.argon2id("k7qm-2xwe-h9tz-p4rn".getBytes(StandardCharsets.UTF_8), 8, 1);

    @TempDir
    Path dir;

    private final AtomicLong clock = new AtomicLong(1_000_000_000L);
    private long age = 100_000;

    private Path file() {
        return dir.resolve("app-passwords");
    }

    /** Writes the file with an mtime that differs from the last and is old enough to be read. */
    private Path edit(String content) throws IOException {
        Files.writeString(file(), content, StandardCharsets.UTF_8);
        Files.setLastModifiedTime(file(), FileTime.fromMillis(System.currentTimeMillis() - age--));
        return file();
    }

    private AppPasswordFile load() throws AppPasswordFile.Invalid {
        return AppPasswordFile.load(file(), Duration.ofSeconds(1), Duration.ofSeconds(1), clock::get);
    }

    private List<AppPassword> of(AppPasswordFile f, String user) {
        AppPasswords.Entries e = f.of(user, Deadline.NONE);
        return assertInstanceOf(AppPasswords.Entries.Found.class, e).passwords();
    }

    @Test
    void readsEveryField() throws Exception {
        edit("""
                # user:name:{SCHEME}hash[:fields]
                alice@example.org:phone:%s:networks=192.0.2.0/24,2001:db8::/32 services=smtp,IMAP expires=2027-06-30 created=2026-12-03T08:30:00Z
                alice@example.org:laptop:%s:created=2026-12-01T00:00:00Z revoked=2026-12-02T10:00:00Z

                bob:tb:%s
                """.formatted(HASH, HASH, HASH));
        AppPasswordFile f = load();
        List<AppPassword> alice = of(f, "alice@example.org");
        assertEquals(List.of("phone", "laptop"), alice.stream().map(AppPassword::name).toList(), "in file order");
        AppPassword phone = alice.get(0);
        assertEquals("192.0.2.0/24,2001:db8::/32", phone.networks().orElseThrow().toString());
        assertEquals(List.of("smtp", "imap"), phone.services());
        assertEquals(Instant.parse("2027-07-01T00:00:00Z"), phone.expires().orElseThrow(), "through that day, UTC");
        assertEquals(Instant.parse("2026-12-03T08:30:00Z"), phone.created().orElseThrow());
        assertTrue(phone.revoked().isEmpty());
        assertTrue(phone.hash().matches("k7qm-2xwe-h9tz-p4rn".getBytes(StandardCharsets.UTF_8)));
        assertEquals(Instant.parse("2026-12-02T10:00:00Z"), alice.get(1).revoked().orElseThrow());
        AppPassword tb = of(f, "bob").get(0);
        assertTrue(tb.networks().isEmpty() && tb.services().isEmpty() && tb.expires().isEmpty());
        assertEquals(List.of(), of(f, "carol"), "a user without app passwords");
    }

    /** Each line a typo or worse: the file is refused, naming the line, never showing the hash. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "alice:phone                                   | line 2: expected user:name:{SCHEME}hash",
        "alice:ph one:HASH                             | the name",
        "alice::HASH                                   | the name",
        ":phone:HASH                                   | the user is empty",
        "alice:phone:$argon2id$v=19$m=8,t=1,p=1$x$y    | must start with its {SCHEME}",
        "alice:phone:{NOSUCH}abc                       | NOSUCH",
        "alice:phone:HASH:netwroks=192.0.2.0/24        | unknown field \"netwroks\"",
        "alice:phone:HASH:networks=192.0.2.0/33        | networks: bad prefix length",
        "alice:phone:HASH:networks=                    | networks: no network listed",
        "alice:phone:HASH:services=sm tp               | unknown field \"tp\"",
        "alice:phone:HASH:services=smtp/x              | services:",
        "alice:phone:HASH:expires=tomorrow             | expires: 'tomorrow' is not a date",
        "alice:phone:HASH:created=2026-12-03           | created: '2026-12-03' is not a time",
        "alice:phone:HASH:expires=2027-01-01 expires=2027-01-02 | given twice",
    })
    void refusesBadLines(String line, String message) throws Exception {
        edit("# app passwords\n" + line.replace("HASH", HASH) + "\n");
        AppPasswordFile.Invalid e = assertThrows(AppPasswordFile.Invalid.class, this::load);
        assertTrue(e.getMessage().contains(message), e.getMessage());
        assertTrue(e.getMessage().contains(file() + " line 2"), e.getMessage());
        assertFalse(e.getMessage().contains(HASH.substring(20)), "never the hash: " + e.getMessage());
    }

    @Test
    void aNameListedTwiceKeepsTheFirstLine() throws Exception {
        edit("alice:phone:" + HASH + ":services=smtp\nalice:phone:" + HASH + "\n");
        assertEquals(List.of("smtp"), of(load(), "alice").get(0).services());
        assertEquals(1, of(load(), "alice").size());
    }

    @Test
    void aMissingFileHoldsNoAppPassword() throws Exception {
        AppPasswordFile f = load();
        assertEquals(List.of(), of(f, "alice"));
        edit("alice:phone:" + HASH + "\n");
        clock.addAndGet(2_000_000_000L);
        assertEquals(1, of(f, "alice").size(), "the file made later is read");
    }

    @Test
    void anUnreadableFileIsRefusedByLoadAndAwaitedByOpen() throws Exception {
        edit("alice:phone:" + HASH + "\n");
        Files.setPosixFilePermissions(file(), PosixFilePermissions.fromString("---------"));
        if (Files.isReadable(file())) {
            return; // root reads whatever the mode: nothing to see here
        }
        assertThrows(AppPasswordFile.Invalid.class, this::load);
        AppPasswordFile f = AppPasswordFile.open(file());
        assertInstanceOf(AppPasswords.Entries.Unavailable.class, f.of("alice", Deadline.NONE));
    }

    @Test
    void aBrokenFileAtStartIsUnavailableUntilFixed() throws Exception {
        edit("alice:phone:" + HASH + ":nosuch=1\n");
        AppPasswordFile f = AppPasswordFile.open(file());
        assertInstanceOf(AppPasswords.Entries.Unavailable.class, f.of("alice", Deadline.NONE),
                "a temporary failure, never the passdb alone");
        edit("alice:phone:" + HASH + "\n");
        f.reload();
        assertEquals(1, of(f, "alice").size());
    }

    @Test
    void aChangeIsReadAfterTheRecheckAndABrokenOneKeepsTheLastGood() throws Exception {
        edit("alice:phone:" + HASH + "\n");
        AppPasswordFile f = load();
        edit("alice:phone:" + HASH + ":revoked=2026-12-03T09:00:00Z\n");
        assertTrue(of(f, "alice").get(0).revoked().isEmpty(), "not before the recheck interval");
        clock.addAndGet(1_000_000_000L);
        assertTrue(of(f, "alice").get(0).revoked().isPresent(), "revoked without a restart");
        edit("alice:phone:" + HASH + ":revoked=never\n");
        clock.addAndGet(1_000_000_000L);
        assertTrue(of(f, "alice").get(0).revoked().isPresent(), "the last good version");
        Files.delete(file());
        clock.addAndGet(1_000_000_000L);
        assertEquals(List.of(), of(f, "alice"), "a file removed holds no app password");
    }

    @Test
    void aFreshChangeWaitsToSettle() throws Exception {
        edit("alice:phone:" + HASH + "\n");
        AppPasswordFile f = load();
        Files.writeString(file(), "alice:phone:" + HASH + ":revoked=2026-12-03T09:00:00Z\n");
        clock.addAndGet(1_000_000_000L);
        assertTrue(of(f, "alice").get(0).revoked().isEmpty(), "modified just now: maybe half written");
        f.reload();
        assertTrue(of(f, "alice").get(0).revoked().isPresent(), "a reload reads it at once");
    }

    @Test
    void aLineMadeForANewAppPasswordReadsBack() throws Exception {
        String line = AppPasswordFile.line("alice", "phone", HASH, java.util.Optional.of("192.0.2.0/24,2001:db8::1"),
                List.of("smtp"), java.util.Optional.of(Instant.parse("2027-01-01T00:00:00Z")),
                Instant.parse("2026-12-03T08:00:00Z"));
        AppPassword p = AppPasswordFile.parseLine(line, "here");
        assertEquals("192.0.2.0/24,2001:db8::1", p.networks().orElseThrow().toString());
        assertEquals(List.of("smtp"), p.services());
        assertEquals(Instant.parse("2027-01-01T00:00:00Z"), p.expires().orElseThrow());
        assertEquals(Instant.parse("2026-12-03T08:00:00Z"), p.created().orElseThrow());
    }
}
