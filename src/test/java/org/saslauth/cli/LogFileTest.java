package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saslauth.protocol.Scheduler;

class LogFileTest {

    @TempDir
    Path dir;

    /** The clock the log file measures its check interval on, moved by hand. */
    private final AtomicLong now = new AtomicLong();

    private LogFile open(Path log, long checkIntervalNanos) throws IOException {
        return new LogFile(log, checkIntervalNanos, new Scheduler() {
            @Override
            public long nanoTime() {
                return now.get();
            }

            @Override
            public void schedule(Runnable task, long delayNanos) {
                throw new UnsupportedOperationException("a log file schedules nothing");
            }
        });
    }

    private static void line(LogFile f, int i) throws IOException {
        f.write(("line " + i + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    private static List<String> lines(Path... files) throws IOException {
        List<String> all = new ArrayList<>();
        for (Path p : files) {
            if (Files.exists(p)) {
                all.addAll(Files.readAllLines(p));
            }
        }
        return all;
    }

    /** logrotate with create: the path is renamed and a new file made there. */
    @Test
    void afterRenameAndCreateLaterLinesGoToTheNewFileAndNoneIsLost() throws Exception {
        Path log = dir.resolve("saslauth.log");
        Path rotated = dir.resolve("saslauth.log.1");
        try (LogFile f = open(log, 50_000_000L)) {
            for (int i = 0; i < 10; i++) {
                line(f, i);
            }
            Files.move(log, rotated);
            Files.createFile(log);
            line(f, 10); // within the interval: may still reach the rotated file
            now.addAndGet(80_000_000L);
            for (int i = 11; i < 20; i++) {
                line(f, i);
            }
        }
        List<String> now = lines(log);
        assertTrue(now.containsAll(List.of("line 11", "line 19")), "new file: " + now);
        assertFalse(lines(rotated).contains("line 11"), "nothing after the check in the rotated file");
        List<String> both = lines(rotated, log);
        both.sort(null);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            expected.add("line " + i);
        }
        expected.sort(null);
        assertEquals(expected, both, "every line in one of the two files, once");
    }

    /** logrotate without create (or an administrator's rm): the file is made again. */
    @Test
    void aRemovedFileIsMadeAgain() throws Exception {
        Path log = dir.resolve("saslauth.log");
        try (LogFile f = open(log, 50_000_000L)) {
            line(f, 1);
            Files.delete(log);
            now.addAndGet(80_000_000L);
            line(f, 2);
        }
        assertEquals(List.of("line 2"), lines(log));
    }

    /** Within the interval the path is not looked at: a busy helper pays one stat a second. */
    @Test
    void theSameFileStaysOpenWithinTheInterval() throws Exception {
        Path log = dir.resolve("saslauth.log");
        Path rotated = dir.resolve("saslauth.log.1");
        try (LogFile f = open(log, 60_000_000_000L)) {
            line(f, 1);
            Files.move(log, rotated);
            line(f, 2);
        }
        assertEquals(List.of("line 1", "line 2"), lines(rotated));
        assertFalse(Files.exists(log));
    }

    /** When the directory is gone the open file keeps the lines rather than dropping them. */
    @Test
    void aPathThatCannotBeOpenedKeepsTheOldFile() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("sub"));
        Path log = sub.resolve("saslauth.log");
        Path kept = dir.resolve("kept.log");
        try (LogFile f = open(log, 50_000_000L)) {
            line(f, 1);
            Files.move(log, kept);
            Files.delete(sub);
            now.addAndGet(80_000_000L);
            line(f, 2);
        }
        assertEquals(List.of("line 1", "line 2"), lines(kept));
    }
}
