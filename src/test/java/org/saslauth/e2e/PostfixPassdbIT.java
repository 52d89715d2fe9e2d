package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.saslauth.e2e.SmtpClient.Reply;
import org.saslauth.password.PasswordSchemes;
import org.saslauth.servers.PostgresServer;
import org.saslauth.servers.SlapdServer;

/**
 * A real Postfix whose saslauth helpers read users from PostgreSQL (postfixadmin's schema) and
 * from slapd (auth bind), both started here: logins, wrong passwords, an injection name, and
 * the server stopped and started again, as a client sees them. With a server down saslauth
 * answers {@code FAIL ... code=temp_fail}; Postfix 3.7 ignores the code and answers 535 with the
 * reason text, {@code Temporary authentication failure}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PostfixPassdbIT {

    private static final Duration IO_TIMEOUT = Duration.ofSeconds(15);
    private static final String DB_PASSWORD = "e2e-db-Secret-3k";
    private static final String LDAP_PASSWORD = "e2e-ldap-Secret-8m";

    static final PostfixInstance.Service SQL = new PostfixInstance.Service("saslauth_sql", String.join("\n",
            "passdb = sql",
            "sql-url = {url}",
            "sql-user = saslauth",
            "sql-password-file = {etc}/sql.password",
            "password-query = SELECT password, username AS user FROM mailbox WHERE username = lower(%u) AND active = '1'",
            "failure-delay = 1s",
            "log-file = {log}/saslauth-sql.log",
            ""));
    static final PostfixInstance.Service LDAP = new PostfixInstance.Service("saslauth_ldap", String.join("\n",
            "passdb = ldap",
            "ldap-url = {url}",
            "ldap-bind-dn = " + SlapdServer.SERVICE_DN,
            "ldap-bind-password-file = {etc}/ldap.password",
            "ldap-base = ou=people," + SlapdServer.BASE,
            "ldap-user-filter = (&(objectClass=inetOrgPerson)(mail=%u))",
            "ldap-auth-bind = true",
            "failure-delay = 1s",
            "log-file = {log}/saslauth-ldap.log",
            ""));

    /** A helper whose database cannot be reached when it starts. */
    static final PostfixInstance.Service DOWN = new PostfixInstance.Service("saslauth_down", String.join("\n",
            "passdb = sql",
            "sql-url = jdbc:postgresql://127.0.0.1:1/postfix",
            "sql-user = saslauth",
            "sql-password-file = {etc}/sql.password",
            "password-query = SELECT password FROM mailbox WHERE username = %u",
            "log-file = {log}/saslauth-down.log",
            ""));

    /** A helper whose config file has a key typed as Postfix spells its own, and a mechanism mistyped. */
    static final PostfixInstance.Service TYPO = new PostfixInstance.Service("saslauth_typo", String.join("\n",
            "passdb = sql",
            "sql-url = {url}",
            "sql-user = saslauth",
            "sql-password-file = {etc}/sql.password",
            "password-query = SELECT password FROM mailbox WHERE username = %u",
            "failure_delay = 2s",
            "mechanisms = PLAIN,LOGIN,LOGN",
            "log-file = {log}/saslauth-typo.log",
            ""));

    /** A helper whose passwd file its user (nobody) cannot read. */
    static final PostfixInstance.Service UNREADABLE = new PostfixInstance.Service("saslauth_unreadable", String.join("\n",
            "passwd-file = {etc}/root-only.passwd",
            "log-file = {log}/saslauth-unreadable.log",
            ""));

    /** A helper whose directory cannot be reached when it starts. */
    static final PostfixInstance.Service LDAP_DOWN = new PostfixInstance.Service("saslauth_ldapdown", String.join("\n",
            "passdb = ldap",
            "ldap-url = ldap://127.0.0.1:1",
            "ldap-bind-dn = " + SlapdServer.SERVICE_DN,
            "ldap-bind-password-file = {etc}/ldap.password",
            "ldap-base = ou=people," + SlapdServer.BASE,
            "ldap-user-filter = (&(objectClass=inetOrgPerson)(mail=%u))",
            "ldap-auth-bind = true",
            "log-file = {log}/saslauth-ldapdown.log",
            ""));

    static PostgresServer pg;
    static SlapdServer slapd;
    static PostfixInstance postfix;
    static PostfixInstance.Service sql;
    static PostfixInstance.Service ldap;
    static PostfixInstance.Service typo;

    @BeforeAll
    static void start() throws Exception {
        PostfixInstance.requirePostfix();
        pg = PostgresServer.start();
        pg.sql("postgres", "CREATE DATABASE postfix;");
        String bob = PasswordSchemes.hash("SHA512-CRYPT", "bob-password".getBytes(StandardCharsets.UTF_8), OptionalInt.of(5000));
        pg.sql("postfix", "CREATE TABLE mailbox (username varchar(255) NOT NULL PRIMARY KEY, password varchar(255) NOT NULL,"
                + " name varchar(255) NOT NULL DEFAULT '', maildir varchar(255) NOT NULL DEFAULT '',"
                + " quota bigint NOT NULL DEFAULT 0, local_part varchar(255) NOT NULL, domain varchar(255) NOT NULL,"
                + " created timestamp NOT NULL DEFAULT now(), modified timestamp NOT NULL DEFAULT now(),"
                + " active boolean NOT NULL DEFAULT true);\n"
                + "INSERT INTO mailbox (username, password, local_part, domain) VALUES"
                + " ('alice@example.org', '{PLAIN}alice-password', 'alice', 'example.org'),"
                + " ('bob@example.org', '" + bob + "', 'bob', 'example.org');\n"
                + "CREATE ROLE saslauth LOGIN PASSWORD '" + DB_PASSWORD + "';\n"
                + "GRANT SELECT ON mailbox TO saslauth;\n");
        String carol = PasswordSchemes.hash("SSHA", "carol-password".getBytes(StandardCharsets.UTF_8), OptionalInt.empty());
        slapd = SlapdServer.start("dn: ou=people," + SlapdServer.BASE + "\nobjectClass: organizationalUnit\nou: people\n\n"
                + "dn: uid=carol,ou=people," + SlapdServer.BASE + "\nobjectClass: inetOrgPerson\nuid: carol\ncn: Carol\n"
                + "sn: C\nmail: carol@example.org\nuserPassword: " + carol + "\n\n", LDAP_PASSWORD);
        sql = new PostfixInstance.Service(SQL.name(), SQL.properties().replace("{url}", pg.url("postfix")));
        ldap = new PostfixInstance.Service(LDAP.name(), LDAP.properties().replace("{url}", slapd.url()));
        typo = new PostfixInstance.Service(TYPO.name(), TYPO.properties().replace("{url}", pg.url("postfix")));
        postfix = PostfixInstance.start(Path.of(System.getProperty("basedir", ".")), List.of(sql, ldap, DOWN, typo,
                UNREADABLE, LDAP_DOWN));
        secret(postfix.etc().resolve("sql.password"), DB_PASSWORD);
        secret(postfix.etc().resolve("ldap.password"), LDAP_PASSWORD);
        Path rootOnly = postfix.etc().resolve("root-only.passwd");
        Files.writeString(rootOnly, "alice@example.org:{PLAIN}alice-password\n");
        Files.setPosixFilePermissions(rootOnly, PosixFilePermissions.fromString("rw-------"));
    }

    /** Written after start: the helpers start on the first connection, not before. */
    private static void secret(Path file, String password) throws Exception {
        Files.writeString(file, password + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    }

    @AfterAll
    static void stop() {
        if (postfix != null) {
            postfix.close();
        }
        if (pg != null) {
            pg.close();
        }
        if (slapd != null) {
            slapd.close();
        }
    }

    private static SmtpClient session(PostfixInstance.Service s) throws Exception {
        SmtpClient smtp = new SmtpClient(postfix.port(s), IO_TIMEOUT);
        assertEquals(220, smtp.greeting().code(), smtp.greeting() + "\n" + postfix.maillogTail(20));
        Reply ehlo = smtp.send("EHLO client.saslauth.test");
        assertEquals(250, ehlo.code(), ehlo + "\n" + postfix.maillogTail(20) + "\n" + log(s));
        assertTrue(ehlo.text().contains("AUTH PLAIN LOGIN"), ehlo + "\n" + log(s));
        return smtp;
    }

    private static Reply auth(SmtpClient smtp, String user, String password) throws Exception {
        return smtp.send("AUTH PLAIN " + SmtpClient.plain(user, password));
    }

    private static String log(PostfixInstance.Service s) throws Exception {
        Path f = postfix.dir.resolve("log").resolve(s.name().replace('_', '-') + ".log");
        return Files.exists(f) ? Files.readString(f) : "";
    }

    @Test
    @Order(1)
    void sqlLogins() throws Exception {
        try (SmtpClient smtp = session(sql)) {
            assertEquals(535, auth(smtp, "alice@example.org", "wrong").code());
            assertEquals(535, auth(smtp, "' OR '1'='1", "alice-password").code());
            assertEquals(535, auth(smtp, "mallory@example.org", "alice-password").code());
            assertEquals(235, auth(smtp, "bob@example.org", "bob-password").code(), log(sql));
        }
        try (SmtpClient smtp = session(sql)) {
            assertEquals(235, auth(smtp, "Alice@Example.org", "alice-password").code(), log(sql));
            assertEquals(250, smtp.send("MAIL FROM:<alice@example.org>").code());
            assertEquals(250, smtp.send("RCPT TO:<someone@example.net>").code(), "relaying after AUTH");
        }
        awaitMaillog("sasl_method=PLAIN, sasl_username=alice@example.org$");
    }

    @Test
    @Order(2)
    void ldapLogins() throws Exception {
        try (SmtpClient smtp = session(ldap)) {
            assertEquals(535, auth(smtp, "carol@example.org", "wrong").code());
            assertEquals(535, auth(smtp, "*", "carol-password").code());
            assertEquals(535, auth(smtp, "*)(uid=*", "carol-password").code());
            assertEquals(235, auth(smtp, "carol@example.org", "carol-password").code(), log(ldap));
        }
    }

    @Test
    @Order(3)
    void databaseDownIsATemporaryFailureAndBackIsOk() throws Exception {
        try (SmtpClient smtp = session(sql)) {
            assertEquals(235, auth(smtp, "alice@example.org", "alice-password").code(), log(sql));
        }
        pg.stop();
        try (SmtpClient smtp = session(sql)) {
            for (int i = 0; i < 3; i++) {
                assertTemporaryFailure(auth(smtp, "alice@example.org", "alice-password"), sql);
            }
        } finally {
            pg.startAgain();
        }
        try (SmtpClient smtp = session(sql)) {
            assertEquals(235, auth(smtp, "alice@example.org", "alice-password").code(), log(sql));
        }
        String log = log(sql);
        // one line per outage in each helper (each smtpd has its own), however many logins met it
        var perHelper = Pattern.compile("saslauth\\[(\\d+)\\] - SQL database unavailable").matcher(log).results()
                .collect(java.util.stream.Collectors.groupingBy(m -> m.group(1), java.util.stream.Collectors.counting()));
        assertFalse(perHelper.isEmpty(), log);
        assertTrue(perHelper.values().stream().allMatch(n -> n == 1), log);
        assertFalse(log.contains(DB_PASSWORD) || log.contains("alice-password"), log);
    }

    @Test
    @Order(4)
    void directoryDownIsATemporaryFailureAndBackIsOk() throws Exception {
        slapd.stop();
        try (SmtpClient smtp = session(ldap)) {
            assertTemporaryFailure(auth(smtp, "carol@example.org", "carol-password"), ldap);
        } finally {
            slapd.startAgain();
        }
        try (SmtpClient smtp = session(ldap)) {
            assertEquals(235, auth(smtp, "carol@example.org", "carol-password").code(), log(ldap));
        }
        assertFalse(log(ldap).contains(LDAP_PASSWORD), log(ldap));
    }

    /**
     * Issue 21: a database unreachable when a helper starts used to be exit status 3, and
     * Postfix refused the port (no SASL mechanisms, throttling); now smtpd greets, EHLO offers
     * AUTH, and AUTH is a temporary failure, several sessions in a row.
     */
    @Test
    @Order(5)
    void aDatabaseUnreachableAtStartIsATemporaryFailure() throws Exception {
        for (int i = 0; i < 3; i++) {
            try (SmtpClient smtp = session(DOWN)) {
                assertTemporaryFailure(auth(smtp, "alice@example.org", "alice-password"), DOWN);
            }
        }
        assertFalse(postfix.maillogTail(200).contains("throttling"), postfix.maillogTail(200));
        assertTrue(log(DOWN).contains("SQL database unavailable"), log(DOWN));
        assertFalse(log(DOWN).contains(DB_PASSWORD), log(DOWN));
    }

    /**
     * Issue 21: a typo in the config file (a key with Postfix's underscore, an unknown mechanism)
     * used to make every helper exit 3 before its handshake, and Postfix answered {@code fatal:
     * no SASL authentication mechanisms} and throttled the port; now each session is greeted,
     * EHLO offers AUTH with the valid mechanisms, AUTH is a temporary failure, and the helper's
     * log names the key and the nearest valid one.
     */
    @Test
    @Order(6)
    void aTypoInTheConfigFileKeepsThePortOpenAndFailsAuthAsTemporary() throws Exception {
        for (int i = 0; i < 3; i++) {
            try (SmtpClient smtp = session(typo)) {
                assertTemporaryFailure(auth(smtp, "alice@example.org", "alice-password"), typo);
                assertEquals(250, smtp.send("MAIL FROM:<someone@example.net>").code(), "mail still flows");
            }
        }
        String maillog = postfix.maillogTail(300);
        assertFalse(maillog.contains("throttling") || maillog.contains("no SASL authentication mechanisms"), maillog);
        assertTrue(log(typo).contains("unknown key 'failure_delay' (did you mean 'failure-delay'?)"), log(typo));
        assertFalse(log(typo).contains(DB_PASSWORD), log(typo));
    }

    /**
     * Issue 21: a passwd file the helpers' user cannot read, and a directory down when they
     * start: both used to be exit 3 before the handshake under spawn, which throttled the port;
     * now every session is greeted, AUTH is a temporary failure and mail flows, with the reason
     * in the helper's log at error level.
     */
    @Test
    @Order(7)
    void anUnreadablePasswdFileAndADirectoryDownKeepThePortOpen() throws Exception {
        for (PostfixInstance.Service s : List.of(UNREADABLE, LDAP_DOWN)) {
            for (int i = 0; i < 2; i++) {
                try (SmtpClient smtp = session(s)) {
                    assertTemporaryFailure(auth(smtp, "alice@example.org", "alice-password"), s);
                    assertEquals(250, smtp.send("MAIL FROM:<someone@example.net>").code(), "mail still flows");
                }
            }
        }
        String maillog = postfix.maillogTail(300);
        assertFalse(maillog.contains("throttling") || maillog.contains("no SASL authentication mechanisms"), maillog);
        assertTrue(log(UNREADABLE).lines().anyMatch(l -> l.contains(" ERROR ") && l.contains("root-only.passwd")),
                log(UNREADABLE));
        assertTrue(log(LDAP_DOWN).contains("LDAP directory unavailable"), log(LDAP_DOWN));
        assertFalse(log(LDAP_DOWN).contains(LDAP_PASSWORD), log(LDAP_DOWN));
    }

    private static void assertTemporaryFailure(Reply r, PostfixInstance.Service s) throws Exception {
        assertEquals(535, r.code(), r + "\n" + log(s));
        assertEquals("5.7.8 Error: authentication failed: Temporary authentication failure", r.text(), r.toString());
        assertTrue(r.elapsed().toMillis() < 9000, r.toString());
        awaitMaillog("auth reply: FAIL\\?\\d+\\?user=\\S+\\?reason=Temporary authentication failure\\?code=temp_fail");
    }

    private static void awaitMaillog(String regex) {
        Pattern p = Pattern.compile(regex, Pattern.MULTILINE);
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!p.matcher(postfix.maillog()).find() && System.nanoTime() < end) {
            PostfixInstance.sleep(100);
        }
        assertTrue(p.matcher(postfix.maillog()).find(), "Postfix did not log " + regex + "\n" + postfix.maillogTail(20));
    }
}
