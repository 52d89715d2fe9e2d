package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code saslauth daemon}'s options and start-up errors, in its own JVM; serving is DaemonIT's. */
@Timeout(60)
class DaemonCommandTest {

    @TempDir
    Path dir;

    @Test
    void helpListsTheDaemonOptionsAndTheServingOnes() throws Exception {
        CliTest.Result r = CliTest.run("", "daemon", "--help");
        assertEquals(0, r.status(), r.err());
        for (String option : new String[] {"--listen", "--socket-mode", "--socket-user", "--socket-group",
            "--allow-from", "--userdb-listen", "--userdb-socket-mode", "--userdb-socket-user", "--userdb-socket-group",
            "--max-connections", "--workers", "--passwd-file", "--failure-delay",
            "--log-file", "--config"}) {
            assertTrue(r.out().contains(option), option + " in\n" + r.out());
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--listen udp:127.0.0.1:1 | 2 | expected unix:PATH or tcp:HOST:PORT",
        "--listen unix:relative | 2 | needs an absolute path",
        "--listen tcp:127.0.0.1:0 | 2 | the port must be 1 to 65535",
        "--socket-mode 0999 --listen unix:/tmp/x | 2 | not an octal mode",
        "--allow-from example.com --listen unix:/tmp/x | 2 | not an address or CIDR block",
        "--userdb-listen tcp:127.0.0.1:1 | 2 | unix:PATH only",
        "--userdb-socket-mode 660x --listen unix:/tmp/x | 2 | '--userdb-socket-mode': '660x' is not an octal mode",
        "--max-connections 0 --listen unix:/tmp/x | 2 | '--max-connections': '0': must be at least 1",
        "--workers 0 --listen unix:/tmp/x | 2 | '--workers': '0': must be at least 1",
        "--workers 1x --listen unix:/tmp/x | 2 | '--workers': '1x' is not a whole number",
        "--failure-delay 9s --listen unix:/proc/version/auth | 3 | gives up after 10s; every login gets a temporary failure",
        "--listen tcp:0.0.0.0:1 | 3 | --allow-from must name the clients",
        "'' | 3 | nothing to listen on",
    })
    void badOptionsAndUnusableSocketsHaveTheirExitStatus(String args, int status, String message) throws Exception {
        java.util.List<String> argv = new java.util.ArrayList<>(java.util.List.of("daemon", "--mechanisms", "OREORE"));
        for (String a : args.split(" ")) {
            if (!a.isEmpty()) {
                argv.add(a);
            }
        }
        CliTest.Result r = CliTest.run("", argv.toArray(new String[0]));
        assertEquals(status, r.status(), r.out() + r.err());
        assertTrue(r.err().contains(message), r.err());
    }

    /** The daemon's own keys in a config file: a bad value is a usage error there too, naming the option. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "listen = udp:127.0.0.1:1 | '--listen' (ADDRESS): 'udp:127.0.0.1:1': expected unix:PATH or tcp:HOST:PORT",
        "listen = unix:/tmp/x, unix:relative | '--listen' (ADDRESS): 'unix:relative': unix: needs an absolute path",
        "socket-mode = 0999 | '--socket-mode': '0999' is not an octal mode",
        "allow-from = 192.0.2.0/24, example.com | '--allow-from': 'example.com' is not an address or CIDR block",
        "userdb-listen = tcp:127.0.0.1:1 | '--userdb-listen': 'tcp:127.0.0.1:1': unix:PATH only",
        "userdb-socket-mode = 1777 | '--userdb-socket-mode': '1777' is not an octal mode",
        "max-connections = 0 | '--max-connections': '0': must be at least 1",
        "workers = many | '--workers': 'many' is not a whole number",
    })
    void badDaemonValuesInTheConfigFileAreUsageErrors(String line, String message) throws Exception {
        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, "mechanisms = OREORE\nlisten = unix:" + dir.resolve("auth") + "\n" + line + "\n");
        CliTest.Result r = CliTest.run("", "daemon", "--config", config.toString());
        assertEquals(ExitCodes.USAGE, r.status(), r.out() + r.err());
        assertTrue(r.err().contains("Invalid value for option " + message), r.err());
        assertFalse(Files.exists(dir.resolve("auth")), "nothing bound");
    }

    /** Only the daemon takes its options: the helper and test refuse them on the command line. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--listen unix:/tmp/x",
        "--workers 2",
        "test --socket-mode 0660 alice",
        "test --allow-from 127.0.0.1 alice",
        "--userdb-socket-group mail",
    })
    void theDaemonsOptionsAreItsAlone(String args) throws Exception {
        CliTest.Result r = CliTest.runFromFile("", args.split(" "));
        assertEquals(ExitCodes.USAGE, r.status(), r.out() + r.err());
        assertTrue(r.err().contains("Unknown option"), r.err());
    }

    /**
     * A passdb that only checks passwords, behind a mechanism that needs the stored one: the
     * mechanism is left out and the reason logged, and the daemon goes on to bind (here a
     * socket it cannot make, so that it stops: its own socket is still fatal).
     */
    @Test
    void aMechanismThePassdbCannotServeIsLoggedAndLeftOut() throws Exception {
        Path file = dir.resolve("not-a-directory");
        Files.writeString(file, "x");
        CliTest.Result r = CliTest.run("", "daemon", "--mechanisms", "PLAIN,SCRAM-SHA-1", "--passdb", "ldap",
                "--ldap-url", "ldap://127.0.0.1:1", "--ldap-base", "dc=example", "--ldap-auth-bind", "true",
                "--listen", "unix:" + file + "/auth");
        assertEquals(ExitCodes.CONFIG, r.status(), r.out() + r.err());
        assertTrue(r.err().contains("--mechanisms SCRAM-SHA-1 cannot be served by --passdb ldap with --ldap-auth-bind true"),
                r.err());
        assertTrue(r.err().contains("offering PLAIN meanwhile"), r.err());
        assertTrue(r.err().indexOf("cannot be served") < r.err().indexOf("cannot start"), "then the socket: " + r.err());
    }

    @Test
    void aSocketDirectoryItCannotWriteIsExitStatus3() throws Exception {
        Path file = dir.resolve("not-a-directory");
        Files.writeString(file, "x");
        CliTest.Result r = CliTest.run("", "daemon", "--mechanisms", "OREORE", "--listen", "unix:" + file + "/auth");
        assertEquals(3, r.status(), r.err());
        assertTrue(r.err().contains("cannot start"), r.err());
    }
}
