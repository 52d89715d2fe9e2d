package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** {@code --username-format} and {@code --default-realm} as the command line gives them. */
class StoreOptionsTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', nullValues = "-", value = {
        "-                                            | Bob   | Bob",
        "--username-format=as-is                      | Bob   | Bob",
        "--username-format=%u                         | Bob   | Bob",
        "--username-format=lowercase                  | Bob   | bob",
        "--username-format=%Lu                        | Bob   | bob",
        "--default-realm=example.org                  | Bob   | Bob@example.org",
        "--username-format=lowercase --default-realm=Example.org | Bob@X.net | bob@x.net",
        "--username-format=lowercase --default-realm=Example.org | Bob | bob@example.org",
    })
    void namesAreFormattedAsConfigured(String args, String sent, String expected) {
        String[] words = args == null ? new String[0] : args.split(" ");
        CommandLine cl = Saslauth.commandLine();
        cl.parseArgs(words);
        assertEquals(expected, names(((Saslauth) cl.getCommand()).options).apply(sent));
        assertEquals(expected, names(ServingArgs.parse(words, ConfigFile.Contents.NONE).orElseThrow()).apply(sent),
                "the fast path agrees");
    }

    /**
     * A cached OK would let a locked or expired account in for the TTL and skip PAM's rules on
     * the client's address: the host's accounts take no cache; the others do.
     */
    @ParameterizedTest
    @CsvSource({"shadow, false", "pam, false", "checkpassword, true"})
    void theHostsAccountsTakeNoCache(String passdb, boolean cached) throws StartupError {
        String[] words = {"--passdb", passdb, "--checkpassword-program", "/bin/true", "--cache-ttl", "60s"};
        Options options = ServingArgs.parse(words, ConfigFile.Contents.NONE).orElseThrow();
        assertEquals(cached, Config.Store.of(options).cache().isPresent(), passdb);
    }

    private static org.saslauth.store.UserNameFormat names(Options options) {
        try {
            return Config.Store.of(options).names();
        } catch (StartupError e) {
            throw new AssertionError(e);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"--username-format=upper", "--username-format=%Uu"})
    void otherFormatsAreRefused(String arg) {
        CommandLine cl = Saslauth.commandLine();
        cl.setErr(new java.io.PrintWriter(new java.io.StringWriter()));
        assertNotEquals(0, cl.execute(arg));
    }
}
