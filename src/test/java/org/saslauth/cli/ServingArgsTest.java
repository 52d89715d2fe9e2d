package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.saslauth.daemon.Daemon;
import org.saslauth.daemon.SocketFile;
import picocli.CommandLine;

/** The fast serving path must read a command line exactly as picocli does, or leave it alone. */
class ServingArgsTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {
        "",
        "--passwd-file users.passwd",
        "--passwd-file=users.passwd --failure-delay 0 --mechanisms PLAIN,LOGIN,OREORE",
        "--failure-delay 500ms --max-pending 7 --log-file /tmp/x.log --log-level debug",
        "--username-format lowercase --default-realm example.org --passwd-file p",
        "--username-format=%Lu",
        "--max-auth-rate 0 --auth-penalty false",
        "--auth-penalty=true --max-auth-rate=5",
        "--passwd-file p --auth-penalty FALSE --failure-delay 1s",
        "--passdb sql --sql-url jdbc:postgresql://db/mail --sql-user saslauth --sql-password-file /etc/pw"
            + " --default-pass-scheme BLF-CRYPT --cache-ttl 300s --cache-negative-ttl 1s --cache-size 50",
        "--passdb ldap --ldap-url ldap://a --ldap-starttls true --ldap-ca-file ca.pem --ldap-bind-dn cn=x"
            + " --ldap-bind-password-file p --ldap-base dc=example --ldap-user-filter (uid=%n)"
            + " --ldap-auth-bind true --ldap-password-attribute pw",
        "--passdb checkpassword --checkpassword-program /usr/bin/checkpassword",
    })
    void readsLikePicocli(String line) {
        String[] args = line.isEmpty() ? new String[0] : line.split(" ");
        Options fast = fast(args);
        assertNotNull(fast);
        assertEquals(picocli(args), fast);
    }

    @Test
    void valuesLandWhereTheyBelong() {
        Options o = fast(new String[] {"--max-pending", "7", "--failure-delay", "1.5s",
            "--username-format", "lowercase", "--auth-penalty", "false"});
        assertEquals(7, o.count(ServingOption.MAX_PENDING));
        assertEquals(java.time.Duration.ofMillis(1500), o.duration(ServingOption.FAILURE_DELAY));
        assertEquals(ServingOption.NameFormat.LOWERCASE, o.nameFormat());
        assertEquals(false, o.bool(ServingOption.AUTH_PENALTY));
        assertEquals(100, o.count(ServingOption.MAX_AUTH_RATE), "a default");
        assertEquals("PLAIN,LOGIN", o.string(ServingOption.MECHANISMS), "a default");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "--help", "-h", "--version", "hash", "test --passwd-file p", "--passwd-file",
        "--max-pending x", "--max-pending 010", "--failure-delay soon", "--username-format upper",
        "--passwd-file a --passwd-file b", "--no-such-option 1", "@args.txt", "--passwd-file --log-file",
        "--config /nonexistent/saslauth.properties", "--auth-penalty", "--auth-penalty off", "--no-auth-penalty",
        "--log-level loud", "--max-pending +5", "--listen unix:/run/auth", "--workers 2", "--socket-mode=0660",
        "--userdb-socket-mode 0600",
    })
    void leavesEverythingElseToPicocli(String line) {
        assertNoFastPath(fast(line.split(" ")));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "--max-pending x", "--max-pending 010", "--failure-delay soon", "--username-format upper",
        "--log-level loud", "--auth-penalty off", "--max-pending +5",
    })
    void valuesTheFastPathRefusesPicocliRefusesToo(String line) {
        CommandLine cl = Saslauth.commandLine();
        cl.setErr(new java.io.PrintWriter(new java.io.StringWriter()));
        assertEquals(ExitCodes.USAGE, cl.execute(line.split(" ")));
    }

    @Test
    void configFileUnderTheCommandLine() throws IOException {
        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, "passwd-file = /etc/users\nfailure-delay = 1s \nlog-level = warn\n");
        String[] args = {"--config", config.toString(), "--log-level", "debug"};
        Options fast = fast(args);
        assertNotNull(fast);
        assertEquals(picocli(args), fast);
        assertEquals("debug", fast.string(ServingOption.LOG_LEVEL));
        assertEquals(Path.of("/etc/users"), fast.path(ServingOption.PASSWD_FILE));
    }

    /** An unknown key is the config file's problem, named by line with the nearest key, not picocli's usage error. */
    @Test
    void unknownConfigKeyIsAProblemOfTheFile() throws Exception {
        Path config = dir.resolve("bad.properties");
        Files.writeString(config, "passwd-fiel = /etc/users\n");
        ConfigFile.Contents c = ConfigFile.of(new String[] {"--config", config.toString()});
        assertEquals(java.util.List.of("config file " + config + " line 1: unknown key 'passwd-fiel'"
                + " (did you mean 'passwd-file'?)"), c.problems());
        assertEquals(null, c.values().get(ServingOption.PASSWD_FILE));
    }

    @Test
    void configFileCanTurnThePenaltyOff() throws IOException {
        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, "auth-penalty = false\nmax-auth-rate = 0\n");
        String[] args = {"--config", config.toString()};
        Options fast = fast(args);
        assertEquals(picocli(args), fast);
        assertEquals(false, fast.bool(ServingOption.AUTH_PENALTY));
        assertEquals(true, fast(new String[0]).bool(ServingOption.AUTH_PENALTY), "on by default");
    }

    @Test
    void findLooksAfterSubcommandsAndInTheConfigFile() throws IOException {
        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, "log-file = /var/log/x.log\n");
        assertEquals(Optional.of("/var/log/x.log"), find(new String[] {"test", "--config", config.toString(), "bob"},
                ServingOption.LOG_FILE));
        assertEquals(Optional.of("/tmp/y"), find(new String[] {"--config=" + config, "--log-file=/tmp/y"},
                ServingOption.LOG_FILE));
        assertEquals(Optional.empty(), find(new String[] {"--log-file"}, ServingOption.LOG_FILE));
    }

    /** A file that fails its check still names the log file that is to say so. */
    @Test
    void findReadsTheLogFileOfAConfigFileThatFailsItsCheck() throws Exception {
        Path config = dir.resolve("bad.properties");
        Files.writeString(config, "log-file = /var/log/x.log\nbogus = 1\n");
        String[] args = {"--config", config.toString()};
        ConfigFile.Invalid e = assertThrows(ConfigFile.Invalid.class, () -> ConfigFile.read(config));
        assertTrue(e.getMessage().contains("unknown key 'bogus'"), e.getMessage());
        assertEquals(Optional.of("/var/log/x.log"), ServingArgs.find(args, ServingOption.LOG_FILE, e.raw()));
        ConfigFile.Contents c = ConfigFile.of(args);
        assertTrue(c.problems().get(0).contains("line 2: unknown key 'bogus'"), c.problems().toString());
        assertEquals(Optional.of("/var/log/x.log"), ServingArgs.find(args, ServingOption.LOG_FILE, c.raw()));
    }

    private static Optional<String> find(String[] args, ServingOption option) {
        try {
            return ServingArgs.find(args, option, ConfigFile.of(args).raw());
        } catch (ConfigFile.Invalid e) {
            throw new AssertionError(e);
        }
    }

    /** The fast path's reading: the config file read once, then the words; null when it is left to picocli. */
    private static Options fast(String[] args) {
        try {
            return ServingArgs.parse(args, ConfigFile.of(args)).orElse(null);
        } catch (ConfigFile.Invalid e) {
            return null; // Saslauth.main refuses it without the fast path
        }
    }

    private static void assertNoFastPath(Options options) {
        assertNull(options, "left to picocli");
    }

    /**
     * A helper reading the daemon's config file passes over the daemon's keys, bad values
     * included, as picocli does, and serves on the fast path.
     */
    @Test
    void theDaemonsKeysInTheConfigFileArePassedOver() throws IOException {
        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, "passwd-file = /etc/users\nlisten = unix:/run/a, tcp:127.0.0.1:12345\n"
                + "socket-mode = 0999\nworkers = 0\nallow-from = nowhere\nuserdb-socket-mode = 9\n"
                + "userdb-socket-user = nobody\n");
        String[] args = {"--config", config.toString()};
        Options fast = fast(args);
        assertNotNull(fast, "the fast path");
        assertEquals(picocli(args), fast);
        assertEquals(Path.of("/etc/users"), fast.path(ServingOption.PASSWD_FILE));
        assertNull(fast.get(ServingOption.LISTEN));
        assertEquals(Options.defaults(ServingOption.For.SERVE), fast(new String[0]));
    }

    /**
     * Each command's picocli model has the table's options that it takes, once, and nothing else
     * but {@code test}'s own ({@link TestCommand#OWN_OPTIONS}).
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(ServingOption.For.class)
    void picocliHasEveryOptionOfTheTableThatTheCommandTakes(ServingOption.For command) {
        CommandLine cl = Saslauth.commandLine();
        CommandLine.Model.CommandSpec spec = switch (command) {
            case SERVE -> cl.getCommandSpec();
            case TEST -> cl.getSubcommands().get("test").getCommandSpec();
            case DAEMON -> cl.getSubcommands().get("daemon").getCommandSpec();
        };
        java.util.List<String> model = new java.util.ArrayList<>();
        for (var o : spec.options()) {
            if (!o.usageHelp() && !o.versionHelp()
                    && !(command == ServingOption.For.TEST && TestCommand.OWN_OPTIONS.contains(o.longestName()))) {
                model.add(o.longestName().replaceFirst("^--", ""));
            }
        }
        Set<String> table = new TreeSet<>();
        for (ServingOption o : ServingOption.values()) {
            if (o.applies.takenBy(command)) {
                table.add(o.longName);
            }
        }
        assertEquals(table, new TreeSet<>(model));
        assertEquals(table.size(), model.size(), "each once");
    }

    @Test
    void theDaemonAloneTakesItsOwnOptions() {
        Set<ServingOption> daemonOnly = new TreeSet<>();
        for (ServingOption o : ServingOption.values()) {
            if (o.applies.takenBy(ServingOption.For.DAEMON) && !o.applies.takenBy(ServingOption.For.SERVE)) {
                daemonOnly.add(o);
            }
        }
        assertEquals(Set.of(ServingOption.LISTEN, ServingOption.SOCKET_MODE, ServingOption.SOCKET_USER,
                ServingOption.SOCKET_GROUP, ServingOption.ALLOW_FROM, ServingOption.USERDB_LISTEN,
                ServingOption.USERDB_SOCKET_MODE, ServingOption.USERDB_SOCKET_USER, ServingOption.USERDB_SOCKET_GROUP, ServingOption.METRICS_LISTEN,
                ServingOption.MAX_CONNECTIONS, ServingOption.WORKERS), daemonOnly);
        for (ServingOption o : daemonOnly) {
            assertEquals(false, o.applies.takenBy(ServingOption.For.TEST), o.longName);
        }
    }

    /** {@code --listen} adds up over its occurrences and comma lists; the command line's replace the file's. */
    @Test
    void listenIsRepeatableAndTheCommandLineReplacesTheFile() throws IOException {
        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, "listen = unix:/run/a, tcp:127.0.0.1:12345\nsocket-mode = 0600\nworkers = 3\n");
        Options fromFile = daemon("--config", config.toString());
        assertEquals("[unix:/run/a, tcp:127.0.0.1:12345]", fromFile.get(ServingOption.LISTEN).toString());
        assertEquals(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"),
                fromFile.get(ServingOption.SOCKET_MODE));
        assertEquals(3, fromFile.count(ServingOption.WORKERS));
        Options both = daemon("--config", config.toString(), "--listen", "unix:/run/b,unix:/run/c",
                "--listen=tcp:[::1]:7", "--socket-mode", "0666");
        assertEquals("[unix:/run/b, unix:/run/c, tcp:[0:0:0:0:0:0:0:1]:7]", both.get(ServingOption.LISTEN).toString());
        assertEquals(java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"),
                both.get(ServingOption.SOCKET_MODE));
        assertEquals(3, both.count(ServingOption.WORKERS), "from the file");
        Options none = daemon();
        assertEquals(Options.defaults(ServingOption.For.DAEMON), none);
        assertNull(none.get(ServingOption.LISTEN));
        assertNull(none.get(ServingOption.WORKERS), "the number of CPUs, found at start");
        assertEquals(1000, none.count(ServingOption.MAX_CONNECTIONS));
    }

    /** The userdb socket has the auth sockets' mode, user and group, each unless given its own. */
    @Test
    void theUserdbSocketTakesTheAuthSocketsAccessUnlessGivenItsOwn() throws IOException {
        SocketFile.Access defaults = new SocketFile.Access(PosixFilePermissions.fromString("rw-rw----"), null, null);
        assertEquals(defaults, daemonCommand().daemonOptions().access());
        assertEquals(defaults, daemonCommand().daemonOptions().userdbAccess());
        Options none = daemon();
        assertNull(none.get(ServingOption.USERDB_SOCKET_MODE), "no default of its own");
        assertNull(none.get(ServingOption.USERDB_SOCKET_USER));
        assertNull(none.get(ServingOption.USERDB_SOCKET_GROUP));

        SocketFile.Access auth = new SocketFile.Access(PosixFilePermissions.fromString("rw-rw-rw-"), "nobody", "postfix");
        Daemon.Options inherited = daemonCommand("--socket-mode", "0666", "--socket-user", "nobody",
                "--socket-group", "postfix").daemonOptions();
        assertEquals(auth, inherited.access());
        assertEquals(auth, inherited.userdbAccess());

        Daemon.Options own = daemonCommand("--socket-mode", "0666", "--socket-user", "nobody", "--socket-group",
                "postfix", "--userdb-socket-mode", "0600", "--userdb-socket-group=mail").daemonOptions();
        assertEquals(auth, own.access(), "the auth sockets keep theirs");
        assertEquals(new SocketFile.Access(PosixFilePermissions.fromString("rw-------"), "nobody", "mail"),
                own.userdbAccess());

        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, "socket-group = postfix\nuserdb-socket-mode = 0640\nuserdb-socket-user = mail\n"
                + "userdb-socket-group = mail\n");
        Daemon.Options fromFile = daemonCommand("--config", config.toString(), "--userdb-socket-user", "nobody")
                .daemonOptions();
        assertEquals(new SocketFile.Access(PosixFilePermissions.fromString("rw-rw----"), null, "postfix"),
                fromFile.access());
        assertEquals(new SocketFile.Access(PosixFilePermissions.fromString("rw-r-----"), "nobody", "mail"),
                fromFile.userdbAccess(), "the command line over the file");
    }

    private static Options daemon(String... args) {
        return daemonCommand(args).options;
    }

    private static DaemonCommand daemonCommand(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "daemon";
        System.arraycopy(args, 0, all, 1, args.length);
        CommandLine cl = Saslauth.commandLine();
        withConfig(cl, all);
        cl.parseArgs(all);
        return (DaemonCommand) cl.getSubcommands().get("daemon").getCommand();
    }

    private static Options picocli(String[] args) {
        CommandLine cl = Saslauth.commandLine();
        Saslauth root = cl.getCommand();
        withConfig(cl, args);
        cl.parseArgs(args);
        return root.options;
    }

    /** The config file as Saslauth.run gives it to picocli. */
    private static void withConfig(CommandLine cl, String[] args) {
        try {
            Saslauth.applyConfig(cl, ConfigFile.of(args));
        } catch (ConfigFile.Invalid e) {
            throw new AssertionError(e);
        }
    }
}
