package org.saslauth.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.saslauth.Deadline;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.ScramMechanism;
import org.saslauth.mech.Step;
import org.saslauth.password.CostlyChecks;
import org.saslauth.password.PasswordSchemes;
import org.saslauth.password.ScramHash;
import org.saslauth.protocol.CapturedLog;
import org.saslauth.store.CredentialStore.Verdict;

/**
 * passdb sql against a real database server with postfixadmin's {@code mailbox} table; one
 * subclass per server. Each test opens its own store as a spawned helper would (one connection).
 */
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
abstract class SqlStoreContract {

    /** Slots for slow hashes, this test's own. */
    static final CostlyChecks SLOTS = new CostlyChecks(2);

    static final String DB_PASSWORD = "db-secret-Xq7";
    static final String QUERY = "SELECT password FROM mailbox WHERE username = %u AND active = '1'";
    /** The same with the variable in quotes, as Dovecot's examples write it: a parameter too. */
    static final String QUOTED_QUERY = "SELECT password FROM mailbox WHERE username = '%u' AND active = '1'";
    /** The user name of a row of its own. */
    static final String HOSTILE = "x' OR '1'='1";

    /** A password a user could set to write a line of her own into the log. */
    static final String FORGED = "{X\nINFO saslauth[1] - auth ok: rip=192.0.2.9 mech=PLAIN user=\"root\" id=1\n}x";

    /** The JDBC URL of database {@code mail}. */
    abstract String url();

    abstract String sql(String statements) throws Exception;

    /** Stops the server at once. */
    abstract void stopServer() throws Exception;

    abstract void startServer() throws Exception;

    /** The server's process and its children, to stop with SIGSTOP. */
    abstract List<Long> serverPids() throws Exception;

    static String usersSql() {
        String bobHash = PasswordSchemes.hash("SHA512-CRYPT", "bob-password".getBytes(StandardCharsets.UTF_8),
                OptionalInt.of(5000));
        String frankHash = PasswordSchemes.hash("SCRAM-SHA-256", "frank-password".getBytes(StandardCharsets.UTF_8),
                OptionalInt.of(10000));
        return "INSERT INTO mailbox (username, password, name, maildir, local_part, domain, active) VALUES"
                + " ('alice@example.org', '{PLAIN}alice-password', 'Alice', 'example.org/alice/', 'alice', 'example.org', '1'),"
                + " ('bob@example.org', '" + bobHash + "', 'Bob', 'example.org/bob/', 'bob', 'example.org', '1'),"
                + " ('carol@example.org', '{PLAIN}carol-password', 'Carol', 'example.org/carol/', 'carol', 'example.org', '0'),"
                + " ('dave@example.org', '{SSHA}brokenbase64!!', 'Dave', 'example.org/dave/', 'dave', 'example.org', '1'),"
                + " ('frank@example.org', '" + frankHash + "', 'Frank', 'example.org/frank/', 'frank', 'example.org', '1'),"
                + " ('mallory@example.org', '" + FORGED + "', 'Mallory', 'example.org/mallory/', 'mallory', 'example.org', '1'),"
                // a name that is an injection when spliced into the query, and only data as a parameter
                + " ('" + HOSTILE.replace("'", "''") + "', '{PLAIN}hostile-password', 'H', 'h/', '"
                + HOSTILE.replace("'", "''") + "', '', '1');\n"
                + "INSERT INTO twice (username, password) VALUES ('eve@example.org', '{PLAIN}one'),"
                + " ('eve@example.org', '{PLAIN}two');\n"
                + appPasswordsSql();
    }

    static final String APP_PASSWORD_QUERY = "SELECT name, password, networks, services, expires, revoked"
            + " FROM app_passwords WHERE username = %u";
    static final String APP_PASSWORD_UPDATE_QUERY = "UPDATE app_passwords SET last_used = CURRENT_TIMESTAMP,"
            + " last_ip = %r WHERE username = %u AND name = %{name}";

    /**
     * alice's app passwords, each {@code NAME-app-password}: phone (from 192.0.2.0/24, for smtp,
     * expiring in 2037), laptop (revoked), old (expired), and broken, whose networks cannot be
     * read. Times that both servers' TIMESTAMP can hold.
     */
    static String appPasswordsSql() {
        StringBuilder sql = new StringBuilder("INSERT INTO app_passwords (username, name, password, networks, services,"
                + " expires, revoked) VALUES");
        String[][] rows = {
            {"phone", "'192.0.2.0/24'", "'smtp'", "'2037-12-31 00:00:00'", "NULL"},
            {"laptop", "NULL", "NULL", "NULL", "'2026-01-01 00:00:00'"},
            {"old", "NULL", "NULL", "'2020-01-01 00:00:00'", "NULL"},
            {"broken", "'not-a-network'", "NULL", "NULL", "NULL"},
        };
        for (int i = 0; i < rows.length; i++) {
            String[] r = rows[i];
            sql.append(i == 0 ? " " : ", ").append("('alice@example.org', '").append(r[0]).append("', '")
                    .append(PasswordSchemes.argon2id(pw(r[0] + "-app-password"), 8192, 1)).append("', ")
                    .append(String.join(", ", r[1], r[2], r[3], r[4])).append(')');
        }
        return sql.append(";\n").toString();
    }

    SqlStore open(String query) throws InvalidStoreConfig {
        return SqlStore.open(new SqlStore.Config(url(), "saslauth", DB_PASSWORD, query, "SHA512-CRYPT", 1, true));
    }

    static byte[] pw(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * A helper's first connection on a loaded host takes longer than the pool's wait for one
     * (1.5 s): the first logins of every new helper were temporary failures (seen under a loaded
     * {@code mvn verify}); now a login waits for the first connection a second time, within its
     * limit. The database here is reached through a relay that holds each new connection 1.8 s.
     */
    @Test
    void theFirstConnectionMayTakeLongerThanThePoolsWait() throws Exception {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(.*://[^:/]+:)(\\d+)(/.*)$").matcher(url());
        org.junit.jupiter.api.Assertions.assertTrue(m.matches(), url());
        try (org.saslauth.servers.SlowStartProxy proxy = new org.saslauth.servers.SlowStartProxy(
                Integer.parseInt(m.group(2)), java.time.Duration.ofMillis(1800))) {
            String slow = m.group(1) + proxy.port() + m.group(3);
            SqlStore store = SqlStore.open(new SqlStore.Config(slow, "saslauth", DB_PASSWORD, QUERY, "SHA512-CRYPT", 1, false));
            try {
                assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS,
                        Deadline.in(org.saslauth.Clock.SYSTEM, java.time.Duration.ofSeconds(9))));
            } finally {
                store.close();
            }
        }
    }

    @Test
    void goodAndBadPasswordsAndUnknownUsers() throws Exception {
        SqlStore store = open(QUERY);
        try {
            assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
            assertEquals(Verdict.WRONG_PASSWORD, store.verify("alice@example.org", pw("alice-passwort"), SLOTS, Deadline.NONE));
            assertEquals(Verdict.ACCEPTED, store.verify("bob@example.org", pw("bob-password"), SLOTS, Deadline.NONE), "no prefix: default scheme");
            assertEquals(Verdict.WRONG_PASSWORD, store.verify("bob@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
            assertEquals(Verdict.UNKNOWN_USER, store.verify("nobody@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
            assertEquals(Verdict.UNKNOWN_USER, store.verify("carol@example.org", pw("carol-password"), SLOTS, Deadline.NONE), "inactive");
            assertEquals(Verdict.UNAVAILABLE, store.verify("dave@example.org", pw("x"), SLOTS, Deadline.NONE), "unreadable stored password");
        } finally {
            store.close();
        }
    }

    @Test
    void variablesAndTheirQuotedForm() throws Exception {
        SqlStore store = open("SELECT password FROM mailbox WHERE local_part = '%n' AND domain = %d AND active = '1'");
        try {
            assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
            assertEquals(Verdict.UNKNOWN_USER, store.verify("alice@example.net", pw("alice-password"), SLOTS, Deadline.NONE));
            assertEquals(Verdict.UNKNOWN_USER, store.verify("alice", pw("alice-password"), SLOTS, Deadline.NONE));
        } finally {
            store.close();
        }
    }

    @Test
    void theUserColumnIsTheCanonicalName() throws Exception {
        SqlStore store = open("SELECT password, username AS user FROM mailbox WHERE lower(username) = lower(%u)");
        try {
            var checked = store.check("ALICE@Example.ORG", pw("alice-password"), SLOTS, Deadline.NONE);
            assertEquals(new CredentialStore.Checked(Verdict.ACCEPTED, "alice@example.org"), checked);
            assertEquals(Verdict.WRONG_PASSWORD, store.check("ALICE@Example.ORG", pw("nope"), SLOTS, Deadline.NONE).verdict());
        } finally {
            store.close();
        }
    }

    @Test
    void lookupParsesTheStoredPassword() throws Exception {
        SqlStore store = open(QUERY);
        try {
            var found = assertInstanceOf(CredentialStore.Lookup.Found.class, store.lookup("bob@example.org", Deadline.NONE));
            assertTrue(found.stored().matches(pw("bob-password")));
            assertFalse(found.stored().matches(pw("bob-passwort")));
            assertInstanceOf(CredentialStore.Lookup.UnknownUser.class, store.lookup("zed@example.org", Deadline.NONE));
        } finally {
            store.close();
        }
    }

    /** Salt length and iterations of SCRAM's server-first message for {@code user}: {@code 16/4096}. */
    static String scramShape(Credentials credentials, String user) {
        Step step = new ScramMechanism(ScramHash.SHA_256).newExchange(credentials)
                .start(Optional.of(pw("n,,n=" + user + ",r=abc")), Deadline.NONE);
        String serverFirst = new String(assertInstanceOf(Step.Challenge.class, step).data(), StandardCharsets.UTF_8);
        String salt = serverFirst.replaceAll(".*,s=([^,]*),.*", "$1");
        return Base64.getDecoder().decode(salt).length + "/" + serverFirst.replaceAll(".*,i=", "");
    }

    /**
     * A database cannot be listed: SCRAM shows unknown users, {@code {PLAIN}} and crypt users
     * the shape of the most common SCRAM entry read so far (frank's, made with
     * {@code saslauth hash --rounds 10000}), and the default before any.
     */
    @Test
    void scramShowsUsersWithoutKeysTheShapeOfTheEntriesRead() throws Exception {
        SqlStore store = SqlStore.open(new SqlStore.Config(url(), "saslauth", DB_PASSWORD, QUERY, "SHA512-CRYPT", 1, true),
                new ScramTally(ScramTally.USERS));
        try {
            Credentials credentials = new Credentials(store, UserNameFormat.AS_IS);
            assertEquals("16/4096", scramShape(credentials, "nobody@example.org"), "no SCRAM entry read yet");
            assertEquals("16/10000", scramShape(credentials, "frank@example.org"));
            for (String user : List.of("nobody@example.org", "alice@example.org", "bob@example.org")) {
                assertEquals("16/10000", scramShape(credentials, user), user);
            }
        } finally {
            store.close();
        }
    }

    /**
     * Regression (issue 19, finding 8): an unknown scheme in a stored password was logged as it
     * was, line breaks included, so the password's owner could forge a log line.
     */
    @Test
    void aStoredPasswordCannotWriteALineIntoTheLog() throws Exception {
        SqlStore store = open(QUERY);
        try {
            var run = CapturedLog.capture(() -> store.verify("mallory@example.org", pw("x"), SLOTS, Deadline.NONE));
            assertEquals(Verdict.UNAVAILABLE, run.result());
            assertTrue(run.log().raw().contains("unknown password scheme"), run.log().raw());
            for (String event : run.log().events()) {
                assertFalse(event.contains("\n") || event.contains("\r"), "a line break in " + event);
            }
        } finally {
            store.close();
        }
    }

    @Test
    void moreThanOneRowIsAConfigurationErrorNeverTheFirstRow() throws Exception {
        SqlStore store = open("SELECT password FROM twice WHERE username = %u");
        try {
            var run = CapturedLog.capture(() -> store.verify("eve@example.org", pw("one"), SLOTS, Deadline.NONE));
            assertEquals(Verdict.UNAVAILABLE, run.result());
            assertTrue(run.log().raw().contains("more than one row"), run.log().raw());
        } finally {
            store.close();
        }
    }

    /**
     * Each name is bound as a parameter, in both forms of the query: the statement always runs
     * (never a syntax error, which would be UNAVAILABLE) and finds nobody, since no such name is
     * stored; spliced into the text, "alice@example.org' --" and its kin would log in as alice.
     */
    @ParameterizedTest
    @ValueSource(strings = {
        "' OR '1'='1", "alice@example.org' --", "alice@example.org' OR 1=1 -- ", "x' OR 'x'='x",
        "alice@example.org'; DROP TABLE mailbox; --", "*)(uid=*", "alice@example.org\u0000", "%", "_lice@example.org",
        "\\' OR 1=1 #", "alice@example.org\\", "'alice@example.org' --", "'alice@example.org' #",
        "alice@example.org' #", "alice@example.org' -- ", "' OR username LIKE 'alice%' --",
        "x' UNION SELECT '{PLAIN}alice-password' --", "x' UNION SELECT '{PLAIN}alice-password' #",
        "x UNION SELECT '{PLAIN}alice-password'", "alice@example.org\\' --", "$1", "?",
    })
    void injectionFindsNoUserAndChangesNothing(String name) throws Exception {
        String before = sql("SELECT count(*) AS n FROM mailbox;");
        for (String query : List.of(QUERY, QUOTED_QUERY)) {
            SqlStore store = open(query);
            try {
                Verdict v = store.verify(name, pw("alice-password"), SLOTS, Deadline.NONE);
                assertNotEquals(Verdict.ACCEPTED, v, query);
                assertEquals(Verdict.UNKNOWN_USER, v, "bound as a parameter, the name finds nobody: " + query);
                assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE), "table intact");
            } finally {
                store.close();
            }
        }
        assertEquals(before, sql("SELECT count(*) AS n FROM mailbox;"));
    }

    /**
     * A stored name that is an injection when spliced: as a parameter it matches its own row and
     * only that one, in every form of the query ({@code %u}, {@code '%u'}, {@code '%n'} and {@code %d}).
     */
    @Test
    void aHostileNameIsMatchedAsDataOnly() throws Exception {
        for (String query : List.of(QUERY, QUOTED_QUERY,
                "SELECT password FROM mailbox WHERE local_part = '%n' AND domain = %d AND active = '1'")) {
            SqlStore store = open(query);
            try {
                assertEquals(Verdict.ACCEPTED, store.verify(HOSTILE, pw("hostile-password"), SLOTS, Deadline.NONE), query);
                assertEquals(Verdict.WRONG_PASSWORD, store.verify(HOSTILE, pw("alice-password"), SLOTS, Deadline.NONE), query);
                assertEquals(Verdict.UNKNOWN_USER, store.verify("x' OR '1'='2", pw("hostile-password"), SLOTS, Deadline.NONE), query);
            } finally {
                store.close();
            }
        }
    }

    @Test
    void aVeryLongNameFindsNoUser() throws Exception {
        SqlStore store = open(QUERY);
        try {
            assertEquals(Verdict.UNKNOWN_USER, store.verify("a".repeat(250) + "@example.org", pw("x"), SLOTS, Deadline.NONE));
            Verdict v = store.verify("' OR '1'='1".repeat(2000), pw("x"), SLOTS, Deadline.NONE);
            assertTrue(v == Verdict.UNKNOWN_USER || v == Verdict.UNAVAILABLE, v.toString());
        } finally {
            store.close();
        }
    }

    /** last_used and last_ip of alice's app password {@code name}, read as the service account reads. */
    List<String> lastUse(String name) throws Exception {
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(url(), "saslauth", DB_PASSWORD);
                java.sql.PreparedStatement st = c.prepareStatement(
                        "SELECT last_used, last_ip FROM app_passwords WHERE username = ? AND name = ?")) {
            st.setString(1, "alice@example.org");
            st.setString(2, name);
            try (java.sql.ResultSet rs = st.executeQuery()) {
                assertTrue(rs.next(), "no row " + name);
                java.sql.Timestamp t = rs.getTimestamp(1);
                return java.util.Arrays.asList(t == null ? null : t.toInstant().toString(), rs.getString(2));
            }
        }
    }

    /**
     * app-password-query and app-password-update-query against the real server: the app password
     * found logs in from its network and the update records when and from where, in the table;
     * from another network, for another service, revoked or expired it is refused with the
     * reason and records nothing; a row that cannot be read is left out; with
     * app-passwords-required alice's main password is refused and bob's, who has no row, works.
     */
    @Test
    void appPasswordsFromTheDatabase() throws Exception {
        SqlStore db = open(QUERY);
        AppPasswordStore store = new AppPasswordStore(db, db.appPasswords(APP_PASSWORD_QUERY,
                Optional.of(APP_PASSWORD_UPDATE_QUERY)), true);
        try {
            assertEquals(java.util.Arrays.asList(null, null), lastUse("phone"));
            Client.SERVICE.set("smtp");
            Client.ADDRESS.set("192.0.2.7");
            java.time.Instant before = java.time.Instant.now().minusSeconds(120);
            var ok = CapturedLog.capture(() -> store.check("alice@example.org", pw("phone-app-password"), SLOTS,
                    Deadline.NONE));
            assertEquals(new CredentialStore.Checked(Verdict.ACCEPTED, "alice@example.org"), ok.result());
            assertTrue(ok.log().raw().contains("user \"alice@example.org\" logged in with app password \"phone\""),
                    ok.log().raw());
            List<String> used = lastUse("phone");
            assertEquals("192.0.2.7", used.get(1), used.toString());
            assertTrue(used.get(0) != null && java.time.Instant.parse(used.get(0)).isAfter(before), used.toString());

            Client.ADDRESS.set("198.51.100.7");
            assertRefused(store, "phone", "app password 'phone' is not for this address (only 192.0.2.0/24)");
            Client.ADDRESS.set("192.0.2.7");
            Client.SERVICE.set("imap");
            assertRefused(store, "phone", "app password 'phone' is not for service imap (only smtp)");
            Client.SERVICE.set("smtp");
            assertRefused(store, "laptop", "app password 'laptop' was revoked at ");
            assertRefused(store, "old", "app password 'old' expired at ");
            assertEquals(used, lastUse("phone"), "a refused login records no use");
            for (String name : List.of("laptop", "old", "broken")) {
                assertEquals(java.util.Arrays.asList(null, null), lastUse(name), name);
            }

            var broken = CapturedLog.capture(() -> store.check("alice@example.org", pw("broken-app-password"), SLOTS,
                    Deadline.NONE));
            assertEquals(Verdict.WRONG_PASSWORD, broken.result().verdict());
            assertTrue(broken.log().raw().contains("app-password-query: app password \"broken\" of user"
                    + " \"alice@example.org\" cannot be used and is left out"), broken.log().raw());

            var main = store.check("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE);
            assertEquals(Verdict.REFUSED, main.verdict());
            assertEquals(Optional.of("main password refused: the user has app passwords and app-passwords-required is on"),
                    main.detail());
            assertEquals(Verdict.WRONG_PASSWORD, store.check("alice@example.org", pw("alice-passwort"), SLOTS,
                    Deadline.NONE).verdict());
            assertEquals(Verdict.ACCEPTED, store.check("bob@example.org", pw("bob-password"), SLOTS, Deadline.NONE).verdict());
            assertEquals(Verdict.WRONG_PASSWORD, store.check("bob@example.org", pw("phone-app-password"), SLOTS,
                    Deadline.NONE).verdict(), "alice's app password is hers only");
        } finally {
            Client.ADDRESS.remove();
            Client.SERVICE.remove();
            store.close();
        }
    }

    /** An update query that fails is logged and changes nothing of the login. */
    @Test
    void aFailingUpdateQueryLeavesTheLoginAlone() throws Exception {
        SqlStore db = open(QUERY);
        AppPasswordStore store = new AppPasswordStore(db, db.appPasswords(APP_PASSWORD_QUERY,
                Optional.of("UPDATE app_passwords SET no_such_column = %r WHERE username = %u AND name = %{name}")), false);
        try {
            Client.SERVICE.set("smtp");
            Client.ADDRESS.set("192.0.2.8");
            var run = CapturedLog.capture(() -> store.check("alice@example.org", pw("phone-app-password"), SLOTS,
                    Deadline.NONE));
            assertEquals(Verdict.ACCEPTED, run.result().verdict());
            assertTrue(run.log().raw().contains("app-password-update-query failed (the login is not affected)"),
                    run.log().raw());
            assertEquals(Verdict.ACCEPTED, store.check("alice@example.org", pw("alice-password"), SLOTS,
                    Deadline.NONE).verdict(), "app-passwords-required is off");
        } finally {
            Client.ADDRESS.remove();
            Client.SERVICE.remove();
            store.close();
        }
    }

    static void assertRefused(AppPasswordStore store, String name, String detail) {
        var checked = store.check("alice@example.org", pw(name + "-app-password"), SLOTS, Deadline.NONE);
        assertEquals(Verdict.REFUSED, checked.verdict(), name);
        assertTrue(checked.detail().orElse("").startsWith(detail), checked.detail() + ", not " + detail);
    }

    @Test
    @org.junit.jupiter.api.Order(100)
    void aServerDownIsATemporaryFailureLoggedOnceAndThePoolComesBack() throws Exception {
        SqlStore store = open(QUERY);
        try {
            assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
            stopServer();
            var run = CapturedLog.capture(() -> {
                for (int i = 0; i < 4; i++) {
                    long t0 = System.nanoTime();
                    Verdict v = store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE);
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    assertEquals(Verdict.UNAVAILABLE, v);
                    assertTrue(ms < SqlStore.ANSWER_WITHIN.toMillis(), "answered in " + ms + " ms");
                }
                return null;
            });
            long outageLines = run.log().events().stream().filter(l -> l.contains("unavailable, logins get")).count();
            assertEquals(1, outageLines, run.log().raw());
            assertFalse(run.log().raw().contains(DB_PASSWORD));
            startServer();
            var back = CapturedLog.capture(() -> store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
            assertEquals(Verdict.ACCEPTED, back.result());
            assertTrue(back.log().raw().contains("answers again"), back.log().raw());
        } finally {
            store.close();
        }
    }

    @Test
    @org.junit.jupiter.api.Order(101)
    void aHungServerIsATemporaryFailureWithinTheBound() throws Exception {
        SqlStore store = open(QUERY);
        List<Long> pids = serverPids();
        try {
            assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
            signal("STOP", pids);
            long t0 = System.nanoTime();
            Verdict v = store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(Verdict.UNAVAILABLE, v);
            assertTrue(ms < SqlStore.ANSWER_WITHIN.toMillis(), "answered in " + ms + " ms");
            signal("CONT", pids);
            long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            Verdict again;
            do {
                again = store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE);
            } while (again != Verdict.ACCEPTED && System.nanoTime() < end);
            assertEquals(Verdict.ACCEPTED, again);
        } finally {
            signal("CONT", pids);
            store.close();
        }
    }

    @Test
    void badConfigurationIsRefusedAtStart() throws Exception {
        assertThrows(InvalidStoreConfig.class, () -> open("SELECT password FROM mailbox WHERE username = %x"));
        assertThrows(InvalidStoreConfig.class, () -> SqlStore.open(new SqlStore.Config(
                "jdbc:oracle:thin:@x", "u", "p", QUERY, "SHA512-CRYPT", 1, true)));
        var wrong = assertThrows(InvalidStoreConfig.class, () -> SqlStore.open(new SqlStore.Config(
                url(), "saslauth", "not-" + DB_PASSWORD, QUERY, "SHA512-CRYPT", 1, true)));
        assertFalse(wrong.getMessage().contains(DB_PASSWORD), wrong.getMessage());
        var unreachable = assertThrows(InvalidStoreConfig.class, () -> SqlStore.open(new SqlStore.Config(
                url().replaceFirst(":[0-9]+/", ":1/"), "saslauth", DB_PASSWORD, QUERY, "SHA512-CRYPT", 1, true)));
        assertTrue(unreachable.getMessage().startsWith("cannot connect"), unreachable.getMessage());
        assertThrows(InvalidStoreConfig.class, () -> SqlStore.open(new SqlStore.Config(
                url() + "?password=" + DB_PASSWORD, "saslauth", null, QUERY, "SHA512-CRYPT", 1, true)));
    }

    @Test
    void aDaemonStartsWithTheServerUnreachable() throws Exception {
        SqlStore store = SqlStore.open(new SqlStore.Config(url().replaceFirst(":[0-9]+/", ":1/"), "saslauth",
                DB_PASSWORD, QUERY, "SHA512-CRYPT", 2, false));
        try {
            assertEquals(Verdict.UNAVAILABLE, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        } finally {
            store.close();
        }
    }

    static void signal(String signal, List<Long> pids) throws Exception {
        java.util.List<String> cmd = new java.util.ArrayList<>(List.of("kill", "-" + signal));
        pids.forEach(p -> cmd.add(Long.toString(p)));
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start().waitFor();
    }

    static List<Long> withChildren(long pid) {
        List<Long> out = new java.util.ArrayList<>();
        out.add(pid);
        ProcessHandle.of(pid).ifPresent(h -> h.descendants().forEach(d -> out.add(d.pid())));
        return out;
    }

    static String schema(String activeType, String activeDefault) {
        return "CREATE TABLE mailbox (\n"
                + "  username varchar(255) NOT NULL PRIMARY KEY,\n"
                + "  password varchar(255) NOT NULL,\n"
                + "  name varchar(255) NOT NULL DEFAULT '',\n"
                + "  maildir varchar(255) NOT NULL DEFAULT '',\n"
                + "  quota bigint NOT NULL DEFAULT 0,\n"
                + "  local_part varchar(255) NOT NULL,\n"
                + "  domain varchar(255) NOT NULL,\n"
                + "  created timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
                + "  modified timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
                + "  active " + activeType + " NOT NULL DEFAULT " + activeDefault + "\n"
                + ");\n"
                + "CREATE TABLE twice (username varchar(255) NOT NULL, password varchar(255) NOT NULL);\n"
                // docs/app-passwords.md's table; TIMESTAMP NULL, so that MariaDB sets none of them by itself
                + "CREATE TABLE app_passwords (\n"
                + "  username varchar(255) NOT NULL,\n"
                + "  name varchar(64) NOT NULL,\n"
                + "  password varchar(255) NOT NULL,\n"
                + "  networks varchar(255) NULL,\n"
                + "  services varchar(255) NULL,\n"
                + "  expires timestamp NULL,\n"
                + "  revoked timestamp NULL,\n"
                + "  last_used timestamp NULL,\n"
                + "  last_ip varchar(64) NULL,\n"
                + "  PRIMARY KEY (username, name)\n"
                + ");\n";
    }

    static Optional<String> nothing() {
        return Optional.empty();
    }
}
