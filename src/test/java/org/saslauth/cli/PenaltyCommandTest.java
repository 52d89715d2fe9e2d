package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** {@code saslauth penalty}: what it says where there is no shared store to act on. (PenaltyStoreIT: with Redis.) */
class PenaltyCommandTest {

    @TempDir
    Path dir;

    record Result(int status, String out, String err) {}

    Result run(String... args) {
        CommandLine cl = Saslauth.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int status = cl.execute(args);
        return new Result(status, out.toString(), err.toString());
    }

    @Test
    void aMemoryStoreCannotBeListed() throws Exception {
        Path config = Files.writeString(dir.resolve("saslauth.properties"), "failure-delay = 2s\n");
        Result r = run("penalty", "list", "--config", config.toString());
        assertEquals(ExitCodes.CONFIG, r.status(), r.out() + r.err());
        assertTrue(r.err().contains("penalty-store is memory"), r.err());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "penalty-store = redis://127.0.0.1:0/0 | is not a port",
        "penalty-store = redis://user:secret@127.0.0.1 | no password in the URL",
        "penalty-store = http://127.0.0.1 | is not memory, redis://",
        "penalty-exempt = 192.0.2.0/33 | bad prefix length",
        "penalty-ban-users = 1 | must be at least 2",
        "penalty-known-for = 0 | must be more than 0",
        "penalty-store-password-file = /nonexistent | without a redis:// penalty-store",
    })
    void aStoreTheConfigGetsWrongIsSaidSo(String line, String message) throws Exception {
        Path config = Files.writeString(dir.resolve("saslauth.properties"), line + "\n");
        Result r = run("penalty", "list", "--config", config.toString());
        assertEquals(ExitCodes.CONFIG, r.status(), r.out() + r.err());
        assertTrue(r.err().contains(message), r.err());
        assertTrue(!r.err().contains("secret"), "a password repeated: " + r.err());
    }

    @Test
    void clearNeedsAnAddressOrAUser() {
        Result r = run("penalty", "clear");
        assertEquals(ExitCodes.USAGE, r.status(), r.out() + r.err());
        assertTrue(r.err().contains("give an ADDRESS or --user USER"), r.err());
    }

    /** Redis not answering: exit 5 and one line, never a stack trace. */
    @Test
    void aStoreThatDoesNotAnswer() throws Exception {
        Path config = Files.writeString(dir.resolve("saslauth.properties"), "penalty-store = redis://127.0.0.1:9/0\n");
        Result r = run("penalty", "list", "--config", config.toString());
        assertEquals(ExitCodes.SOFTWARE, r.status(), r.out() + r.err());
        assertTrue(r.err().contains("does not answer"), r.err());
    }

    /** A helper greets and counts in memory whatever is wrong with its penalty store's settings. */
    @Test
    void aServerWithABadStoreCountsInMemory() throws Exception {
        Path users = Files.writeString(dir.resolve("users"), "alice:{PLAIN}x\n");
        String[] args = {"--passwd-file", users.toString(), "--penalty-store", "redis://127.0.0.1:6379",
            "--penalty-store-password-file", dir.resolve("missing").toString()};
        Options o = ServingArgs.parse(args, ConfigFile.Contents.NONE).orElseThrow();
        java.util.List<String> problems = new java.util.ArrayList<>();
        Config c = Config.forServing(o, problems);
        assertEquals(org.saslauth.penalty.PenaltyStore.Opener.MEMORY, c.serving().penaltyStore());
        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.get(0).contains("penalty-store-password-file: cannot read"), problems.toString());
        assertTrue(problems.get(0).endsWith("counting bans in this process's memory, with the default thresholds"));
    }
}
