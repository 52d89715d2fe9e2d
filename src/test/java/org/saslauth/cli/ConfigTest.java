package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The one check of a serving command's options, and what each passdb can serve. */
class ConfigTest {

    private static Options options(String... words) {
        return ServingArgs.parse(words, ConfigFile.Contents.NONE).orElseThrow();
    }

    private static final String CHECKPASSWORD = "--passdb checkpassword --checkpassword-program /bin/true";
    private static final String LDAP = "--passdb ldap --ldap-url ldap://127.0.0.1:1 --ldap-base dc=example";

    /** Every mechanism against every kind of passdb: those that compute with the stored password need one that gives it. */
    @ParameterizedTest(name = "{0} with {1}")
    @CsvSource(delimiter = '|', value = {
        "PLAIN,LOGIN           | --passwd-file users                       | ok",
        "CRAM-MD5,SCRAM-SHA-1  | --passwd-file users                       | ok",
        "SCRAM-SHA-256         | --passdb sql --sql-url jdbc:x --password-query q | ok",
        "CRAM-MD5              | " + LDAP + "                              | ok",
        "CRAM-MD5              | " + LDAP + " --ldap-auth-bind false       | ok",
        "PLAIN,LOGIN           | " + LDAP + " --ldap-auth-bind true        | ok",
        "PLAIN,CRAM-MD5        | " + LDAP + " --ldap-auth-bind true        | --mechanisms CRAM-MD5 cannot be served by --passdb ldap with --ldap-auth-bind true",
        "PLAIN,LOGIN,OREORE    | " + CHECKPASSWORD + "                     | ok",
        "CRAM-MD5              | " + CHECKPASSWORD + "                     | --mechanisms CRAM-MD5 cannot be served by --passdb checkpassword: it computes",
        "SCRAM-SHA-1,SCRAM-SHA-256,PLAIN | " + CHECKPASSWORD + "           | --mechanisms SCRAM-SHA-1,SCRAM-SHA-256 cannot be served by --passdb checkpassword: they compute",
        "OREORE                | --log-level info                          | ok",
        "OREORE,PLAIN          | --log-level info                          | --passwd-file or --passdb is required for OREORE,PLAIN",
        "SCRAM-SHA-1           | --passdb passwd-file                      | --passwd-file or --passdb is required for SCRAM-SHA-1",
    })
    void aPassdbMustServeEveryMechanismOffered(String mechanisms, String passdb, String expected) {
        String[] words = ("--mechanisms " + mechanisms.strip() + " " + passdb.strip()).split(" ");
        if (expected.equals("ok")) {
            assertDoesNotRefuse(words);
        } else {
            StartupError e = assertThrows(StartupError.class, () -> Config.of(options(words)));
            assertTrue(e.getMessage().startsWith(expected), e.getMessage());
        }
    }

    private static void assertDoesNotRefuse(String[] words) {
        try {
            Config.of(options(words));
        } catch (StartupError e) {
            throw new AssertionError(String.join(" ", words) + ": " + e.getMessage(), e);
        }
    }

    @Test
    void theRefusalSaysWhatToDo() {
        StartupError e = assertThrows(StartupError.class,
                () -> Config.of(options(("--mechanisms CRAM-MD5 " + CHECKPASSWORD).split(" "))));
        assertTrue(e.getMessage().contains("offer PLAIN and LOGIN only, or use a passdb that stores passwords"),
                e.getMessage());
    }

    /** The passdb is a choice of records, each with only its own options, typed. */
    @Test
    void thePassdbIsOneRecordOfItsKind() throws StartupError {
        assertEquals(new Passdb.PasswdFile(Path.of("users")), Config.of(options("--passwd-file", "users")).store().passdb());
        assertEquals(new Passdb.None(), Config.of(options("--mechanisms", "OREORE")).store().passdb());
        assertEquals(new Passdb.Checkpassword(Path.of("/bin/true")),
                Config.of(options(CHECKPASSWORD.split(" "))).store().passdb());
        assertEquals(new Passdb.Sql("jdbc:x", Optional.of("u"), Optional.empty(), "q", "SHA512-CRYPT"),
                Config.of(options("--passdb", "sql", "--sql-url", "jdbc:x", "--sql-user", "u", "--password-query", "q"))
                        .store().passdb());
        Passdb.Ldap ldap = (Passdb.Ldap) Config.of(options((LDAP + " --ldap-auth-bind true").split(" "))).store().passdb();
        assertEquals("ldap://127.0.0.1:1", ldap.urls());
        assertTrue(ldap.authBind());
        assertEquals(Optional.empty(), ldap.bindDn());
    }

    /** The cache is for the passdbs behind a network or a program; a passwd file is in memory already. */
    @Test
    void theCacheStandsInFrontOfTheOtherPassdbsOnly() throws StartupError {
        assertEquals(Optional.of(new Config.Cache(Duration.ofSeconds(300), Duration.ZERO, 10000)),
                Config.of(options((CHECKPASSWORD + " --cache-ttl 300s").split(" "))).store().cache());
        assertEquals(Optional.empty(), Config.of(options("--passwd-file", "users", "--cache-ttl", "300s")).store().cache());
        assertEquals(Optional.empty(), Config.of(options(CHECKPASSWORD.split(" "))).store().cache());
        StartupError e = assertThrows(StartupError.class,
                () -> Config.of(options((CHECKPASSWORD + " --cache-ttl 1s --cache-size 0").split(" "))));
        assertEquals("--cache-size must be at least 1", e.getMessage());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--mechanisms NOPE                      | --mechanisms: unknown mechanism 'NOPE'",
        "--failure-delay 6s                     | --failure-delay must be at most 5s",
        "--max-pending 0                        | --max-pending must be at least 1",
        "--ipv6-prefix 129                      | --ipv6-prefix must be between 1 and 128",
        "--passdb nis                           | --passdb must be passwd-file, sql, ldap, checkpassword, shadow or pam, not 'nis'",
        "--passdb sql --password-query q        | --sql-url is required for --passdb sql",
        "--passdb ldap --ldap-url ldap://a      | --ldap-base is required for --passdb ldap",
        "--passdb checkpassword                 | --checkpassword-program is required for --passdb checkpassword",
    })
    void eachCheckHasItsMessage(String words, String message) {
        StartupError e = assertThrows(StartupError.class,
                () -> Config.of(options(("--passwd-file users " + words.strip()).split(" "))));
        assertTrue(e.getMessage().startsWith(message), e.getMessage());
    }

    @Test
    void theServingRecordIsTheEnginesSettings() throws StartupError {
        Config c = Config.of(options("--passwd-file", "users", "--failure-delay", "1s", "--max-pending", "7",
                "--auth-penalty", "false", "--max-auth-rate", "5", "--ipv6-prefix", "48"));
        var s = c.serving().settings(null);
        assertEquals(Duration.ofSeconds(1), s.failureDelay());
        assertEquals(7, s.maxPending());
        assertEquals(false, s.penalty());
        assertEquals(5, s.maxAuthRate());
        assertEquals(48, s.ipv6Prefix());
        assertEquals("PLAIN,LOGIN", s.mechanisms().toString(), "the default");
    }

    /**
     * Issue 21: a value from the config file is named by its file, line and key, never by an
     * option the administrator did not type ({@code --sql-url is required...} for a file that
     * said {@code passdb = sql}).
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "passdb = sql\\npassword-query = q          | line 1: passdb = sql needs the key sql-url as well",
        "passdb = checkpassword                    | line 1: passdb = checkpassword needs the key checkpassword-program",
        "mechanisms = CRAM-MD5\\npassdb = checkpassword\\ncheckpassword-program = /bin/true | line 1: mechanisms CRAM-MD5 cannot be served by passdb checkpassword: it computes",
        "failure-delay = 6s                        | line 1: failure-delay must be at most 5s",
    })
    void aCheckOfAValueFromTheConfigFileNamesItsKey(String lines, String message) throws Exception {
        Path file = java.nio.file.Files.createTempFile("saslauth-config-", ".properties");
        try {
            java.nio.file.Files.writeString(file, lines.strip().replace("\\n", "\n") + "\n");
            String[] args = {"--config", file.toString()};
            ConfigFile.Contents contents = ConfigFile.of(args);
            Options o = ServingArgs.parse(args, contents).orElseThrow().from(contents, args);
            StartupError e = assertThrows(StartupError.class, () -> Config.of(o));
            assertEquals("config file " + file + " " + message, e.getMessage().substring(0,
                    Math.min(e.getMessage().length(), ("config file " + file + " " + message).length())));
            assertTrue(!e.getMessage().contains("--"), e.getMessage());
        } finally {
            java.nio.file.Files.delete(file);
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource(delimiterString = " => ", value = {
        "--mechanisms OAUTHBEARER => OAUTHBEARER need --oauth2-issuer (JWT access tokens) or --oauth2-introspection-url",
        "--mechanisms XOAUTH2 --oauth2-issuer http://id.example.org => --oauth2-issuer: 'http://id.example.org' must be https",
        "--mechanisms XOAUTH2 --oauth2-issuer ftp://id.example.org => --oauth2-issuer: 'ftp://id.example.org' must be an https URL",
        "--mechanisms XOAUTH2 --oauth2-issuer https://u:p@id.example.org => is not an http(s) URL with a host",
        "--mechanisms XOAUTH2 --oauth2-issuer https://id.example.org --oauth2-client-id x => --oauth2-client-id is given without --oauth2-introspection-url",
        "--mechanisms XOAUTH2 --oauth2-issuer https://id.example.org --oauth2-client-secret-file /nonexistent => --oauth2-client-secret-file is given without --oauth2-client-id",
        "--mechanisms XOAUTH2 --oauth2-issuer https://id.example.org --oauth2-clock-skew 3600s => --oauth2-clock-skew must be at most 600s",
    })
    void tokenSettingsThatCannotBeUsed(String words, String message) {
        StartupError e = assertThrows(StartupError.class, () -> Config.of(options(words.split(" "))));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void loopbackIssuersMaySpeakHttp() throws StartupError {
        for (String issuer : new String[] {"http://127.0.0.1:8080", "http://localhost/realms/mail", "http://[::1]:9000"}) {
            Config c = Config.of(options("--mechanisms", "PLAIN,OAUTHBEARER", "--passwd-file", "users", "--oauth2-issuer", issuer));
            assertEquals("PLAIN,OAUTHBEARER", c.serving().mechanisms().toString());
            assertTrue(c.serving().tokens() != null, issuer);
        }
        assertEquals(null, Config.of(options("--passwd-file", "users")).serving().tokens(), "no token mechanism, no issuer");
    }

    @Test
    void aServerLeavesOutTokenMechanismsItCannotServeAndSaysWhy() throws StartupError {
        java.util.List<String> problems = new java.util.ArrayList<>();
        Config c = Config.forServing(options("--mechanisms", "PLAIN,XOAUTH2", "--passwd-file", "users"), problems);
        assertEquals("PLAIN", c.serving().mechanisms().toString());
        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.get(0).endsWith("; offering PLAIN meanwhile"), problems.toString());
    }
}
