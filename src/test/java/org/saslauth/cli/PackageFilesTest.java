package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The build-time writer of the package's man pages, completion and units. */
class PackageFilesTest {

    @TempDir
    Path out;

    @Test
    void gzipIsReadableAndCarriesNoNameAndNoTime() throws Exception {
        byte[] data = new byte[100_000];
        new Random(7).nextBytes(data);
        System.arraycopy("text text text ".repeat(1000).getBytes(StandardCharsets.US_ASCII), 0, data, 0, 15_000);
        byte[] gz = PackageFiles.gzip(data);
        assertArrayEquals(new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 2, 3}, java.util.Arrays.copyOf(gz, 10),
                "deflate, no flags, no time, best compression, Unix");
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
            assertArrayEquals(data, in.readAllBytes());
        }
    }

    @Test
    void everyCommandAndOptionIsInTheMainPageAndEveryKeyInTheConfigPage() throws Exception {
        PackageFiles.sources(Path.of(System.getProperty("basedir", ".")), out, "9.9.9", "Someone <someone@example.org>");
        String main = Files.readString(out.resolve("adoc/saslauth.adoc"));
        assertTrue(main.contains("= saslauth(8)"), "section 8");
        assertTrue(main.contains(":mansource: saslauth 9.9.9"));
        var cl = Saslauth.commandLine();
        for (var sub : cl.getSubcommands().values()) {
            assertTrue(main.contains("== Command saslauth " + sub.getCommandName()), sub.getCommandName());
            for (var option : sub.getCommandSpec().options()) {
                assertTrue(main.contains("*" + option.longestName() + "*"), sub.getCommandName() + " " + option.longestName());
            }
            assertTrue(Files.exists(out.resolve("adoc/saslauth-" + sub.getCommandName() + ".adoc")));
        }
        assertTrue(main.contains("== Exit status\n\n*0*::"), "exit statuses from the help footer");
        String properties = Files.readString(out.resolve("adoc/saslauth.properties.adoc"));
        for (ServingOption o : ServingOption.values()) {
            assertEquals(o != ServingOption.CONFIG, properties.contains("*" + o.longName + "* = _" + o.label + "_::"), o.longName);
        }
        assertFalse(properties.contains("${DEFAULT-VALUE}"), "defaults filled in");
        assertTrue(properties.contains("*listen* = _ADDRESS_::\n  unix:PATH or tcp:HOST:PORT, several separated by commas;"),
                properties);
        for (ServingOption o : ServingOption.values()) {
            if (o == ServingOption.CONFIG) {
                continue;
            }
            int at = properties.indexOf("*" + o.longName + "* = _");
            String entry = properties.substring(at, properties.indexOf("\n\n", at));
            assertEquals(o.applies == ServingOption.Applies.DAEMON, entry.contains("Read by *saslauth daemon* only"), entry);
        }
        String daemonPage = Files.readString(out.resolve("adoc/saslauth-daemon.adoc"));
        for (String option : new String[] {"--listen", "--socket-mode", "--workers", "--max-connections", "--passwd-file"}) {
            assertTrue(daemonPage.contains("*" + option + "*"), option);
        }
        assertTrue(Files.readString(out.resolve("completion/saslauth")).contains("--passwd-file"));
        String service = Files.readString(out.resolve("systemd/saslauth.service"));
        assertTrue(service.contains("\nExecStart=/usr/sbin/saslauth daemon --config /etc/saslauth/saslauth.properties\n"), service);
        assertFalse(service.contains("/opt/saslauth"), "the package's paths only");
        assertTrue(Files.readString(out.resolve("doc/examples/master.cf")).contains("argv=/usr/sbin/saslauth "));
        try (GZIPInputStream in = new GZIPInputStream(Files.newInputStream(out.resolve("doc/changelog.gz")))) {
            String changelog = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(changelog.startsWith("saslauth (9.9.9) unstable; urgency=medium\n"), changelog);
            assertTrue(changelog.contains(" -- Someone <someone@example.org>  "), changelog);
        }
        assertEquals(2, Files.list(out.resolve("systemd")).count());
    }
}
