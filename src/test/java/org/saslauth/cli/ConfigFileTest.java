package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Issue 10, finding 6 and 8: only a small regular file is read; what it holds is checked. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ConfigFileTest {

    @TempDir
    Path dir;

    @Test
    void keysAreOptionNamesAndValuesAreStripped() throws Exception {
        Path f = dir.resolve("c.properties");
        Files.writeString(f, "# comment\npasswd-file = /etc/users \nmax-pending=7\n");
        ConfigFile.Contents c = ConfigFile.read(f);
        assertEquals(Map.of(ServingOption.PASSWD_FILE, "/etc/users", ServingOption.MAX_PENDING, "7"), c.values());
        assertEquals(List.of(), c.warnings());
    }

    @Test
    void aKeyGivenTwiceIsTakenFromItsLastLineAndWarnedAbout() throws Exception {
        Path f = dir.resolve("c.properties");
        Files.writeString(f, "failure-delay = 1s\nfailure-delay = 3s\n");
        ConfigFile.Contents c = ConfigFile.read(f);
        assertEquals("3s", c.values().get(ServingOption.FAILURE_DELAY));
        assertEquals(1, c.warnings().size());
        assertTrue(c.warnings().get(0).contains("'failure-delay' is set more than once; the last line wins"));
    }

    @Test
    void aByteOrderMarkIsSkipped() throws Exception {
        Path f = dir.resolve("c.properties");
        Files.write(f, ("\uFEFFpasswd-file = /etc/users\n").getBytes(StandardCharsets.UTF_8));
        assertEquals("/etc/users", ConfigFile.read(f).values().get(ServingOption.PASSWD_FILE));
    }

    @Test
    void unknownKeysAreRefusedButFoundLeniently() throws Exception {
        Path f = dir.resolve("c.properties");
        Files.writeString(f, "log-file = /tmp/x.log\nbogus = 1\n");
        var e = assertThrows(ConfigFile.Invalid.class, () -> ConfigFile.read(f));
        assertTrue(e.getMessage().contains("unknown key 'bogus'"), e.getMessage());
        assertEquals("/tmp/x.log", ConfigFile.readRaw(f).get("log-file"), "so that the error can be logged");
    }

    @Test
    void onlyASmallRegularFileIsRead() throws Exception {
        Path big = dir.resolve("big.properties");
        Files.writeString(big, "# " + "x".repeat(ConfigFile.MAX_SIZE) + "\n");
        assertTrue(assertThrows(ConfigFile.Invalid.class, () -> ConfigFile.read(big)).getMessage()
                .contains("larger than"));
        assertTrue(assertThrows(ConfigFile.Invalid.class, () -> ConfigFile.read(Path.of("/dev/zero"))).getMessage()
                .contains("not a regular file"));
        assertTrue(assertThrows(ConfigFile.Invalid.class, () -> ConfigFile.read(dir)).getMessage()
                .contains("not a regular file"));
        Path fifo = dir.resolve("fifo");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertEquals(0, mkfifo.waitFor());
        assertTrue(assertThrows(ConfigFile.Invalid.class, () -> ConfigFile.read(fifo)).getMessage()
                .contains("not a regular file"), "and no hang on opening it");
        Path notUtf8 = dir.resolve("latin1.properties");
        Files.write(notUtf8, new byte[] {'d', 'e', 'f', 'a', 'u', 'l', 't', '-', 'r', 'e', 'a', 'l', 'm', '=', (byte) 0xe9});
        assertTrue(assertThrows(ConfigFile.Invalid.class, () -> ConfigFile.read(notUtf8)).getMessage()
                .contains("not UTF-8"));
    }

    /** The file's lines as {@code split("\\r?\\n|\\r", -1)} gave them, each kind of line end. */
    @Test
    void linesEndWithCrLfLfOrCr() {
        for (String text : List.of("", "a", "a\n", "a\r\nb", "a\rb\r", "\n\n", "a\r\r\nb\n\rc", "k = v\r\n# x\r\n\r\n")) {
            assertEquals(List.of(text.split("\r?\n|\r", -1)), ConfigFile.lines(text), "'" + text + "'");
        }
    }
}
