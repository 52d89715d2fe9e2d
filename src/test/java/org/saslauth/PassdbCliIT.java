package org.saslauth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saslauth.servers.PostgresServer;
import org.saslauth.servers.SlapdServer;

/**
 * The packaged jar with each passdb, as an administrator and spawn(8) run it: {@code saslauth
 * test}, a served session from a config file, and the exit status for a server that cannot be
 * reached at start. Also checks that a passwd-file helper loads no class of the pool, the JDBC
 * drivers or LDAP, and that the shaded jar still names both drivers.
 */
class PassdbCliIT {

    static final String DB_PASSWORD = "cli-db-secret-5t";
    static PostgresServer pg;
    static SlapdServer slapd;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() throws Exception {
        pg = PostgresServer.start();
        pg.sql("postgres", "CREATE DATABASE mail;");
        pg.sql("mail", "CREATE TABLE mailbox (username varchar(255) PRIMARY KEY, password varchar(255) NOT NULL,"
                + " active boolean NOT NULL DEFAULT true);\n"
                + "INSERT INTO mailbox VALUES ('alice@example.org', '{PLAIN}alice-password', true);\n"
                + "INSERT INTO mailbox VALUES ('bob@example.org', '{PLAIN}bob-password', true);\n"
                + "CREATE TABLE app_passwords (username varchar(255) NOT NULL, name varchar(64) NOT NULL,"
                + " password varchar(255) NOT NULL, networks varchar(255), services varchar(255), expires timestamptz,"
                + " revoked timestamptz, last_used timestamptz, last_ip varchar(64), PRIMARY KEY (username, name));\n"
                + "INSERT INTO app_passwords (username, name, password, networks, services, revoked) VALUES"
                + " ('alice@example.org', 'phone', '" + org.saslauth.password.PasswordSchemes.argon2id(
                        "k7qm-2xwe-h9tz-p4rn".getBytes(StandardCharsets.UTF_8), 8192, 1) + "', '192.0.2.0/24', 'smtp', NULL),"
                + " ('alice@example.org', 'lost', '" + org.saslauth.password.PasswordSchemes.argon2id(
                        "lost-app-password".getBytes(StandardCharsets.UTF_8), 8192, 1) + "', NULL, NULL,"
                + " '2026-01-01T00:00:00Z');\n"
                + "CREATE ROLE saslauth LOGIN PASSWORD '" + DB_PASSWORD + "';\n"
                + "GRANT SELECT ON mailbox TO saslauth;\n"
                + "GRANT SELECT, UPDATE ON app_passwords TO saslauth;\n");
        slapd = SlapdServer.start("dn: uid=bob," + SlapdServer.BASE + "\nobjectClass: inetOrgPerson\nuid: bob\ncn: b\n"
                + "sn: b\nmail: bob@example.org\nuserPassword: {SSHA}" + ssha("bob-password") + "\n\n", "svc-pw");
    }

    @AfterAll
    static void stop() {
        if (pg != null) {
            pg.close();
        }
        if (slapd != null) {
            slapd.close();
        }
    }

    static String ssha(String password) {
        return org.saslauth.password.PasswordSchemes.hash("SSHA", password.getBytes(StandardCharsets.UTF_8),
                java.util.OptionalInt.empty()).substring("{SSHA}".length());
    }

    record Result(int status, String out, String err) {}

    static Result jar(String stdin, List<String> jvm, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(jvm);
        cmd.addAll(List.of("-jar", Path.of("target/saslauth.jar").toAbsolutePath().toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    Path sqlConfig(String url) throws IOException {
        Path secret = dir.resolve("db.password");
        Files.writeString(secret, DB_PASSWORD + "\n");
        Path config = dir.resolve("sql.properties");
        Files.writeString(config, "passdb = sql\n"
                + "sql-url = " + url + "\n"
                + "sql-user = saslauth\n"
                + "sql-password-file = " + secret + "\n"
                + "password-query = SELECT password, username AS user FROM mailbox WHERE lower(username) = lower(%u) AND active = '1'\n"
                + "failure-delay = 0\n"
                + "log-file = " + dir.resolve("saslauth.log") + "\n");
        return config;
    }

    Path ldapConfig() throws IOException {
        Path secret = dir.resolve("ldap.password");
        Files.writeString(secret, "svc-pw\n");
        Path config = dir.resolve("ldap.properties");
        Files.writeString(config, "passdb = ldap\n"
                + "ldap-url = " + slapd.url() + "\n"
                + "ldap-bind-dn = " + SlapdServer.SERVICE_DN + "\n"
                + "ldap-bind-password-file = " + secret + "\n"
                + "ldap-base = " + SlapdServer.BASE + "\n"
                + "ldap-user-filter = (&(objectClass=inetOrgPerson)(mail=%u))\n"
                + "failure-delay = 0\n"
                + "cache-ttl = 60s\n"
                + "log-file = " + dir.resolve("saslauth.log") + "\n");
        return config;
    }

    @Test
    void testCommandAgainstSqlAndLdap() throws Exception {
        Path sql = sqlConfig(pg.url("mail"));
        Result ok = jar("alice-password\n", List.of(), "test", "--config", sql.toString(), "Alice@Example.org");
        assertEquals(0, ok.status(), ok.out() + ok.err());
        assertTrue(ok.out().contains("auth succeeded: user=alice@example.org"), ok.out());
        Result bad = jar("nope\n", List.of(), "test", "--config", sql.toString(), "alice@example.org");
        assertEquals(1, bad.status(), bad.out() + bad.err());

        Path ldap = ldapConfig();
        Result lok = jar("bob-password\n", List.of(), "test", "--config", ldap.toString(), "bob@example.org");
        assertEquals(0, lok.status(), lok.out() + lok.err());
        Result unknown = jar("bob-password\n", List.of(), "test", "--config", ldap.toString(), "*");
        assertEquals(1, unknown.status(), unknown.out() + unknown.err());
        assertTrue(unknown.out().contains("unknown user"), unknown.out());
    }

    /**
     * App passwords in the passdb's database through the packaged jar and a config file:
     * {@code saslauth test --address}, a served session whose login records its last use in the
     * table, app-passwords-required, and {@code app-password list} pointing at the database.
     */
    @Test
    void appPasswordsInTheDatabase() throws Exception {
        Path sql = sqlConfig(pg.url("mail"));
        Files.writeString(sql, Files.readString(sql)
                + "app-password-query = SELECT name, password, networks, services, expires, revoked FROM app_passwords"
                + " WHERE username = %u\n"
                + "app-password-update-query = UPDATE app_passwords SET last_used = now(), last_ip = %r"
                + " WHERE username = %u AND name = %{name}\n"
                + "app-passwords-required = true\n");
        String phone = "k7qm-2xwe-h9tz-p4rn\n";
        Result inside = jar(phone, List.of(), "test", "--config", sql.toString(), "--address", "192.0.2.7", "alice@example.org");
        assertEquals(0, inside.status(), inside.out() + inside.err());
        assertEquals("auth succeeded: user=alice@example.org\n", inside.out());
        Result outside = jar(phone, List.of(), "test", "--config", sql.toString(), "--address", "198.51.100.7",
                "alice@example.org");
        assertEquals(1, outside.status(), outside.out() + outside.err());
        assertEquals("auth failed: user=alice@example.org (refused: app password 'phone' is not for this address"
                + " (only 192.0.2.0/24))\n", outside.out());
        Result lost = jar("lost-app-password\n", List.of(), "test", "--config", sql.toString(), "--address", "192.0.2.7",
                "alice@example.org");
        assertEquals(1, lost.status(), lost.out() + lost.err());
        assertEquals("auth failed: user=alice@example.org (refused: app password 'lost' was revoked at"
                + " 2026-01-01T00:00:00Z)\n", lost.out(), lost.err());
        String session = "VERSION\t1\t2\nCPID\t7\n"
                + "AUTH\t1\tPLAIN\tservice=smtp\trip=192.0.2.9\tresp=" + plain("alice@example.org", "k7qm-2xwe-h9tz-p4rn") + "\n"
                + "AUTH\t2\tPLAIN\tservice=smtp\trip=192.0.2.9\tresp=" + plain("alice@example.org", "alice-password") + "\n"
                + "AUTH\t3\tPLAIN\tservice=smtp\trip=192.0.2.9\tresp=" + plain("bob@example.org", "bob-password") + "\n";
        Result r = jar(session, List.of(), "--config", sql.toString());
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err());
        assertTrue(r.out().contains("OK\t1\tuser=alice@example.org"), r.out());
        assertTrue(r.out().contains("FAIL\t2\tuser=alice@example.org\treason=Authentication failed"), r.out());
        assertTrue(r.out().contains("OK\t3\tuser=bob@example.org"), r.out());
        String log = Files.readString(dir.resolve("saslauth.log"));
        assertTrue(log.contains("id=2 reason=\"refused: main password refused: the user has app passwords and"
                + " app-passwords-required is on\""), log);
        assertFalse(log.contains("k7qm-2xwe-h9tz-p4rn") || log.contains("$argon2id$"), log);
        // the last login with phone was the session's, and nothing was recorded for lost
        String rows = pg.sql("mail", "SELECT name || '=' || coalesce(last_ip, '-') || '='"
                + " || coalesce((last_used > now() - interval '5 minutes')::text, '-') AS used FROM app_passwords;");
        assertTrue(rows.contains("phone=192.0.2.9=true"), rows);
        assertTrue(rows.contains("lost=-=-"), rows);

        Result list = jar("", List.of(), "app-password", "list", "--config", sql.toString());
        assertEquals(3, list.status(), list.out() + list.err());
        assertTrue(list.err().contains("the app passwords are in the database"), list.err());
    }

    @Test
    void servesASessionWithTheCanonicalNameAndNothingOnStderr() throws Exception {
        Path sql = sqlConfig(pg.url("mail"));
        String session = "VERSION\t1\t2\nCPID\t7\n"
                + "AUTH\t1\tPLAIN\tservice=smtp\tresp=" + plain("ALICE@example.org", "alice-password") + "\n"
                + "AUTH\t2\tPLAIN\tservice=smtp\tresp=" + plain("alice@example.org", "wrong") + "\n"
                + "AUTH\t3\tPLAIN\tservice=smtp\tresp=" + plain("' OR '1'='1", "x") + "\n";
        Result r = jar(session, List.of(), "--config", sql.toString());
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err());
        assertTrue(r.out().contains("OK\t1\tuser=alice@example.org"), r.out());
        assertTrue(r.out().contains("FAIL\t2\t"), r.out());
        assertTrue(r.out().contains("FAIL\t3\t"), r.out());
        String log = Files.readString(dir.resolve("saslauth.log"));
        assertFalse(log.contains(DB_PASSWORD), log);
    }

    /**
     * Issue 21: a database that cannot be reached at start used to be exit status 3 before the
     * handshake, which made Postfix refuse every session; now the helper greets and each login
     * is a temporary failure while it is down. A passdb that cannot be used at all (no driver,
     * an unknown kind) is served the same way, the reason logged.
     */
    @Test
    void aServerUnreachableAtStartIsATemporaryFailureNotAnExit() throws Exception {
        Path sql = sqlConfig(pg.url("mail").replaceFirst(":[0-9]+/", ":1/"));
        Result r = jar("VERSION\t1\t2\nCPID\t7\nAUTH\t1\tPLAIN\tresp="
                + java.util.Base64.getEncoder().encodeToString("\0alice@example.org\0x".getBytes(StandardCharsets.UTF_8))
                + "\n", List.of(), "--config", sql.toString());
        assertEquals(0, r.status(), r.out() + r.err());
        assertEquals("", r.err());
        assertTrue(r.out().startsWith("VERSION\t1\t2\nMECH\tPLAIN"), r.out());
        assertTrue(r.out().contains("code=temp_fail"), r.out());
        String log = Files.readString(dir.resolve("saslauth.log"));
        assertTrue(log.contains("SQL database unavailable"), log);
        assertFalse(log.contains(DB_PASSWORD), log);
        Result missingDriver = jar("", List.of(), "--passdb", "sql", "--sql-url", "jdbc:oracle:thin:@db",
                "--password-query", "SELECT password FROM t WHERE u = %u", "--log-file", dir.resolve("driver.log").toString());
        assertEquals(0, missingDriver.status(), missingDriver.err());
        assertTrue(Files.readString(dir.resolve("driver.log")).contains("no driver"), Files.readString(dir.resolve("driver.log")));
        Result unknownKind = jar("", List.of(), "--passdb", "nis");
        assertEquals(0, unknownKind.status(), unknownKind.err());
        assertTrue(unknownKind.out().startsWith("VERSION\t1\t2\n"), unknownKind.out());
    }

    /**
     * Issue 21: a helper started while its database is down greets, fails logins as temporary,
     * and logs in again by itself once the database is back, without a restart.
     */
    @Test
    void aDatabaseDownAtStartIsAskedAgainAtEachLogin() throws Exception {
        Path sql = sqlConfig(pg.url("mail"));
        pg.stop();
        boolean back = false;
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                Path.of("target/saslauth.jar").toAbsolutePath().toString(), "--config", sql.toString()).start();
        try {
            var in = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            var out = p.getOutputStream();
            out.write(("VERSION\t1\t2\nCPID\t7\nAUTH\t1\tPLAIN\tservice=smtp\tresp="
                    + plain("alice@example.org", "alice-password") + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            String line;
            do {
                line = in.readLine();
            } while (line != null && !line.startsWith("FAIL\t1") && !line.startsWith("OK\t1"));
            assertEquals("FAIL\t1\tuser=alice@example.org\treason=Temporary authentication failure\tcode=temp_fail", line);
            pg.startAgain();
            back = true;
            // The pool reconnects in the background: a few logins at most, each one answered.
            String answer = "";
            for (int id = 2; id < 40 && !answer.startsWith("OK"); id++) {
                out.write(("AUTH\t" + id + "\tPLAIN\tservice=smtp\tresp=" + plain("alice@example.org", "alice-password")
                        + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                answer = in.readLine();
                assertTrue(answer.startsWith("OK\t" + id + "\t") || answer.endsWith("code=temp_fail"), answer);
            }
            assertTrue(answer.startsWith("OK") && answer.endsWith("user=alice@example.org"), answer);
            out.close();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue());
            assertEquals("", new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
        } finally {
            p.destroyForcibly();
            if (!back) {
                pg.startAgain();
            }
        }
    }

    @Test
    void aPasswdFileHelperLoadsNoPoolDriverOrLdapClass() throws Exception {
        // {PLAIN} users only: no native code either (libxcrypt loads when the file holds a crypt hash)
        Path plainOnly = dir.resolve("plain-only.passwd");
        Files.writeString(plainOnly, "carol:{PLAIN}carol-password\ndave:{PLAIN}dave-password\n");
        Result r = jar("VERSION\t1\t2\nCPID\t7\nAUTH\t1\tPLAIN\tservice=smtp\tresp=" + plain("carol", "carol-password")
                + "\n", List.of("-Xlog:class+load=info:file=" + dir.resolve("classes.txt")),
                "--passwd-file", plainOnly.toString(), "--failure-delay", "0");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("OK\t1\tuser=carol"), r.out());
        String classes = Files.readString(dir.resolve("classes.txt"));
        assertTrue(classes.contains("org.saslauth.store.PasswdFile"), "the log lists classes");
        for (String prefix : new String[] {"com.zaxxer.", "org.postgresql.", "org.mariadb.", "javax.naming.",
            "com.sun.jndi.", "com.unboundid.", "java.sql.", "org.saslauth.cli.Passdbs", "org.saslauth.cli.Passdb$Sql",
            "org.saslauth.cli.Passdb$Ldap", "org.saslauth.store.SqlStore", "org.saslauth.store.LdapStore",
            "com.sun.jna.", "org.saslauth.os.", "org.saslauth.password.SystemCrypt", "java.lang.foreign.",
            // the token mechanisms: listed in no default, their issuer's classes load with them only
            "com.nimbusds.", "org.saslauth.oauth.", "org.saslauth.cli.OAuthKeys", "org.saslauth.mech.Tokens",
            "java.net.http."}) {
            assertFalse(classes.contains(" " + prefix), prefix + " was loaded");
        }
    }

    @Test
    void theShadedJarNamesBothDrivers() throws Exception {
        try (var jar = new java.util.jar.JarFile("target/saslauth.jar")) {
            String drivers = new String(jar.getInputStream(jar.getEntry("META-INF/services/java.sql.Driver")).readAllBytes(),
                    StandardCharsets.UTF_8);
            assertTrue(drivers.contains("org.postgresql.Driver"), drivers);
            assertTrue(drivers.contains("org.mariadb.jdbc.Driver"), drivers);
        }
    }

    static String plain(String user, String password) {
        return Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }
}
