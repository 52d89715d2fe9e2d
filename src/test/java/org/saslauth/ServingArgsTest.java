package org.saslauth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
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
        assertSame(picocli(args), ServingArgs.parse(args));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "--help", "-h", "--version", "hash", "test --passwd-file p", "--passwd-file",
        "--max-pending x", "--max-pending 010", "--failure-delay soon", "--username-format upper",
        "--passwd-file a --passwd-file b", "--no-such-option 1", "@args.txt", "--passwd-file --log-file",
        "--config /nonexistent/saslauth.properties", "--auth-penalty", "--auth-penalty off", "--no-auth-penalty",
    })
    void leavesEverythingElseToPicocli(String line) {
        assertNull(ServingArgs.parse(line.split(" ")));
    }

    @Test
    void configFileUnderTheCommandLine() throws IOException {
        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, "passwd-file = /etc/users\nfailure-delay = 1s \nlog-level = warn\n");
        String[] args = {"--config", config.toString(), "--log-level", "debug"};
        Saslauth fast = ServingArgs.parse(args);
        assertNotNull(fast);
        assertSame(picocliWithConfig(args), fast);
        assertEquals("debug", fast.logLevel);
    }

    @Test
    void unknownConfigKeyIsPicocliError() throws IOException {
        Path config = dir.resolve("bad.properties");
        Files.writeString(config, "passwd-fiel = /etc/users\n");
        assertNull(ServingArgs.parse(new String[] {"--config", config.toString()}));
    }

    private static Saslauth picocli(String[] args) {
        Saslauth s = new Saslauth();
        new CommandLine(s).parseArgs(args);
        return s;
    }

    private static Saslauth picocliWithConfig(String[] args) {
        Saslauth s = new Saslauth();
        CommandLine cl = new CommandLine(s);
        try {
            Saslauth.ConfigFile.apply(cl, args);
        } catch (Saslauth.ConfigFile.Invalid e) {
            throw new AssertionError(e);
        }
        cl.parseArgs(args);
        return s;
    }

    private static void assertSame(Saslauth expected, Saslauth actual) {
        assertNotNull(actual);
        assertEquals(expected.store.passwdFile, actual.store.passwdFile);
        assertEquals(expected.store.usernameFormat, actual.store.usernameFormat);
        assertEquals(expected.store.defaultRealm, actual.store.defaultRealm);
        for (java.lang.reflect.Field f : StoreOptions.class.getDeclaredFields()) {
            if (!java.lang.reflect.Modifier.isStatic(f.getModifiers())) {
                try {
                    assertEquals(f.get(expected.store), f.get(actual.store), f.getName());
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
            }
        }
        assertEquals(expected.mechanisms, actual.mechanisms);
        assertEquals(expected.failureDelay, actual.failureDelay);
        assertEquals(expected.maxPending, actual.maxPending);
        assertEquals(expected.logFile, actual.logFile);
        assertEquals(expected.logLevel, actual.logLevel);
        assertEquals(expected.config, actual.config);
        assertEquals(expected.maxAuthRate, actual.maxAuthRate);
        assertEquals(expected.authPenalty, actual.authPenalty);
    }

    /** A new option of the serving command must be known here too, or it would be dropped. */
    @Test
    void knowsEveryServingOption() {
        java.util.Set<String> picocli = new java.util.TreeSet<>();
        for (var o : new CommandLine(new Saslauth()).getCommandSpec().options()) {
            if (!o.usageHelp() && !o.versionHelp()) {
                picocli.add(o.longestName().replaceFirst("^--", ""));
            }
        }
        assertEquals(picocli, new java.util.TreeSet<>(java.util.List.of(ServingArgs.OPTIONS)));
    }

    @Test
    void configFileCanTurnThePenaltyOff() throws IOException {
        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, "auth-penalty = false\nmax-auth-rate = 0\n");
        String[] args = {"--config", config.toString()};
        Saslauth fast = ServingArgs.parse(args);
        assertSame(picocliWithConfig(args), fast);
        assertEquals(false, fast.authPenalty);
        assertEquals(true, ServingArgs.parse(new String[0]).authPenalty, "on by default");
        assertEquals(100, ServingArgs.parse(new String[0]).maxAuthRate);
    }
}
