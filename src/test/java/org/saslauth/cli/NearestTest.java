package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The "did you mean" of messages, and the messages that carry it. */
class NearestTest {

    @TempDir
    Path dir;

    static final List<String> KEYS = List.of("failure-delay", "passwd-file", "passdb", "mechanisms", "log-file",
            "log-level", "max-pending");

    @ParameterizedTest
    @CsvSource({
        "failure_delay, failure-delay",
        "FAILURE_DELAY, failure-delay",
        "passwd_file, passwd-file",
        "failure-dely, failure-delay",
        "mechanism, mechanisms",
        "log_levl, log-level",
    })
    void underscoresAreDashesThenTheNearestKey(String given, String expected) {
        assertEquals(Optional.of(expected), Nearest.of(given, KEYS));
    }

    @ParameterizedTest
    @CsvSource({"bogus", "scheme", "x", "cache-everything-forever"})
    void nothingFarIsSuggested(String given) {
        assertEquals(Optional.empty(), Nearest.of(given, KEYS));
        assertEquals("", Nearest.hint(given, KEYS));
    }

    @Test
    void theDistanceIsLevenshteins() {
        assertEquals(0, Nearest.distance("plain", "plain"));
        assertEquals(1, Nearest.distance("logn", "login"));
        assertEquals(3, Nearest.distance("kitten", "sitting"));
        assertEquals(4, Nearest.distance("", "abcd"));
    }

    /** One line per problem, each naming the file, its line and the config-file key. */
    @Test
    void configFileProblemsNameTheFileTheLineAndTheKey() throws Exception {
        Path f = dir.resolve("saslauth.properties");
        Files.writeString(f, "# saslauth\npasswd-file = /etc/users\nfailure_delay = 2s\nmax-pending = many\n"
                + "auth-penalty = yes\nmechanisms = PLAIN\n");
        ConfigFile.Contents c = ConfigFile.of(new String[] {"--config", f.toString()});
        assertEquals(List.of(
                "config file " + f + " line 3: unknown key 'failure_delay' (did you mean 'failure-delay'?)",
                "config file " + f + " line 4: max-pending: 'many' is not a whole number such as 32",
                "config file " + f + " line 5: auth-penalty: 'yes' is not true or false"), c.problems());
        assertEquals("/etc/users", c.values().get(ServingOption.PASSWD_FILE));
        for (String p : c.problems()) {
            assertTrue(!p.contains("--") && !p.endsWith("/ ") && !p.contains("\n"), p);
        }
    }

    /** A value from the config file is named by its key and line in the checks made later, not as an option. */
    @Test
    void laterChecksNameTheConfigFilesKey() throws Exception {
        Path f = dir.resolve("saslauth.properties");
        Files.writeString(f, "passwd-file = users\nfailure-delay = 9s\npassdb = ldapp\n");
        ConfigFile.Contents c = ConfigFile.of(new String[] {"--config", f.toString()});
        Options o = ServingArgs.parse(new String[] {"--config", f.toString()}, c).orElseThrow()
                .from(c, new String[] {"--config", f.toString()});
        StartupError e = org.junit.jupiter.api.Assertions.assertThrows(StartupError.class,
                () -> Config.forServing(o, new java.util.ArrayList<>()));
        assertEquals("config file " + f + " line 3: passdb must be passwd-file, sql, ldap, checkpassword, shadow or pam, not 'ldapp'"
                + " (did you mean 'ldap'?)", e.getMessage());
        Options delay = ServingArgs.parse(new String[] {"--config", f.toString(), "--passdb", "passwd-file"}, c)
                .orElseThrow().from(c, new String[] {"--config", f.toString(), "--passdb", "passwd-file"});
        assertEquals("config file " + f + " line 2: failure-delay must be at most 5s: Postfix gives up after 10s",
                org.junit.jupiter.api.Assertions.assertThrows(StartupError.class,
                        () -> Config.forServing(delay, new java.util.ArrayList<>())).getMessage());
    }

    /** An unknown mechanism is left out, named with the nearest known one; the others are served. */
    @Test
    void unknownMechanismsAreLeftOutAndNamed() throws Exception {
        Options o = Options.defaults(ServingOption.For.SERVE);
        o.set(ServingOption.MECHANISMS, "PLAIN,LOGN");
        o.set(ServingOption.PASSWD_FILE, Path.of("users"));
        List<String> problems = new java.util.ArrayList<>();
        Config c = Config.forServing(o, problems);
        assertEquals("PLAIN", c.serving().mechanisms().toString());
        assertEquals(List.of("--mechanisms: unknown mechanism 'LOGN' (did you mean 'LOGIN'?); it is not offered"), problems);
    }

    /** The trailing separator of a spawned helper's picocli message: blank lines are left out. */
    @Test
    void picocliLinesAreJoinedWithoutAStraySeparator() {
        assertEquals("a / b", Saslauth.firstLines("a\n\nb\n"));
        assertEquals("a / b / c", Saslauth.firstLines("a\nb\n\nc\nd\n"));
        assertEquals("Unknown option: '--x'", Saslauth.firstLines("Unknown option: '--x'\n\n"));
    }
}
