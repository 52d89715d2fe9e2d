package org.saslauth.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.saslauth.Clock;
import org.saslauth.Deadline;
import org.saslauth.mech.Credentials;
import org.saslauth.password.CostlyChecks;
import org.saslauth.password.PasswordSchemes;
import org.saslauth.protocol.CapturedLog;
import org.saslauth.servers.SlapdServer;
import org.saslauth.store.CredentialStore.Verdict;

/** passdb ldap against a real slapd started for this class, in both of Dovecot's modes. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LdapStoreIT {

    /** Slots for slow hashes, this test's own. */
    static final CostlyChecks SLOTS = new CostlyChecks(2);

    static final String SERVICE_PASSWORD = "service-secret-9z";
    static final String FILTER = "(&(objectClass=inetOrgPerson)(mail=%u))";
    /** A stored mail address with every character that RFC 4515 escapes but NUL. */
    static final String SPECIAL = "st*r(x)\\y@example.org";
    static SlapdServer slapd;

    @BeforeAll
    static void start() throws Exception {
        String alice = PasswordSchemes.hash("SSHA", pw("alice-password"), OptionalInt.empty());
        String bob = PasswordSchemes.hash("SHA512-CRYPT", pw("bob-password"), OptionalInt.of(5000))
                .replaceFirst("^\\{SHA512-CRYPT\\}", "{CRYPT}");
        slapd = SlapdServer.start("dn: ou=people," + SlapdServer.BASE + "\nobjectClass: organizationalUnit\nou: people\n\n"
                + person("alice", alice) + person("bob", bob)
                + person("frank", PasswordSchemes.hash("SCRAM-SHA-256", pw("frank-password"), OptionalInt.of(10000)))
                + person("eve", "{PLAIN}eve-password") + person("eve2", "{PLAIN}eve-password").replace(
                        "mail: eve2@example.org", "mail: eve@example.org")
                + "dn: uid=nopw,ou=people," + SlapdServer.BASE + "\nobjectClass: inetOrgPerson\nuid: nopw\ncn: n\nsn: n\n"
                + "mail: nopw@example.org\n\n"
                + person("special", PasswordSchemes.hash("SSHA", pw("special-password"), OptionalInt.empty())).replace("mail: special@example.org", "mail: " + SPECIAL),
                SERVICE_PASSWORD, true);
    }

    static String person(String uid, String password) {
        return "dn: uid=" + uid + ",ou=people," + SlapdServer.BASE + "\nobjectClass: inetOrgPerson\nuid: " + uid
                + "\ncn: " + uid + "\nsn: " + uid + "\nmail: " + uid + "@example.org\nuserPassword: " + password + "\n\n";
    }

    @AfterAll
    static void stop() {
        if (slapd != null) {
            slapd.close();
        }
    }

    static byte[] pw(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static LdapStore open(boolean authBind, String filter) throws InvalidStoreConfig {
        return LdapStore.open(new LdapStore.Config(slapd.url(), false, null, SlapdServer.SERVICE_DN,
                pw(SERVICE_PASSWORD), SlapdServer.BASE, filter, authBind, "userPassword", "SHA512-CRYPT", 1, true));
    }

    @ParameterizedTest(name = "auth bind {0}")
    @ValueSource(booleans = {false, true})
    void goodAndBadPasswordsAndUnknownUsers(boolean authBind) throws Exception {
        LdapStore store = open(authBind, FILTER);
        assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE), "{SSHA}");
        assertEquals(Verdict.WRONG_PASSWORD, store.verify("alice@example.org", pw("alice-passwort"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.ACCEPTED, store.verify("bob@example.org", pw("bob-password"), SLOTS, Deadline.NONE), "{CRYPT}$6$");
        assertEquals(Verdict.WRONG_PASSWORD, store.verify("bob@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE), "again");
        assertEquals(Verdict.UNKNOWN_USER, store.verify("zed@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.WRONG_PASSWORD, store.verify("nopw@example.org", pw("x"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.WRONG_PASSWORD, store.verify("alice@example.org", pw(""), SLOTS, Deadline.NONE), "never an anonymous bind");
    }

    @Test
    void variablesInTheFilter() throws Exception {
        LdapStore store = open(false, "(&(objectClass=inetOrgPerson)(uid=%n))");
        assertEquals(Verdict.ACCEPTED, store.verify("alice@whatever", pw("alice-password"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.ACCEPTED, store.verify("alice", pw("alice-password"), SLOTS, Deadline.NONE));
    }

    @ParameterizedTest(name = "auth bind {0}")
    @ValueSource(booleans = {false, true})
    void moreThanOneEntryIsAConfigurationError(boolean authBind) throws Exception {
        LdapStore store = open(authBind, FILTER);
        var run = CapturedLog.capture(() -> store.verify("eve@example.org", pw("eve-password"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.UNAVAILABLE, run.result());
        assertTrue(run.log().raw().contains("more than one entry"), run.log().raw());
    }

    @Test
    void lookupReadsThePasswordAttributeOrIsUnsupportedWithAuthBind() throws Exception {
        var found = assertInstanceOf(CredentialStore.Lookup.Found.class, open(false, FILTER).lookup("bob@example.org", Deadline.NONE));
        assertTrue(found.stored().matches(pw("bob-password")));
        assertInstanceOf(CredentialStore.Lookup.UnknownUser.class, open(false, FILTER).lookup("zed@example.org", Deadline.NONE));
        assertInstanceOf(CredentialStore.Lookup.Unsupported.class, open(true, FILTER).lookup("bob@example.org", Deadline.NONE));
    }

    /**
     * A directory cannot be listed: SCRAM shows unknown and crypt users the shape of the most
     * common SCRAM entry read so far; with auth bind no entry is read, and every user gets the
     * default.
     */
    @Test
    void scramShowsUsersWithoutKeysTheShapeOfTheEntriesRead() throws Exception {
        for (boolean authBind : new boolean[] {false, true}) {
            LdapStore store = LdapStore.open(new LdapStore.Config(slapd.url(), false, null, SlapdServer.SERVICE_DN,
                    pw(SERVICE_PASSWORD), SlapdServer.BASE, FILTER, authBind, "userPassword", "SHA512-CRYPT", 1, true),
                    new ScramTally(ScramTally.USERS));
            String expected = authBind ? "16/4096" : "16/10000";
            Credentials credentials = new Credentials(store, UserNameFormat.AS_IS);
            assertEquals("16/4096", SqlStoreContract.scramShape(credentials, "zed@example.org"), "no SCRAM entry read yet");
            for (String user : List.of("frank@example.org", "zed@example.org", "bob@example.org")) {
                assertEquals(expected, SqlStoreContract.scramShape(credentials, user), user + ", auth bind " + authBind);
            }
        }
    }

    /**
     * Names that would widen or rewrite the filter if spliced in unescaped: a wildcard, a
     * parenthesis, a backslash escape of the name's own making ({@code alice\40example.org} is
     * alice@example.org to the directory), the escaped form of a stored address, and NUL.
     */
    @ParameterizedTest
    @ValueSource(strings = {"*", "*)(uid=*", "alice@example.org)(|(mail=*", "*@example.org", "alice*", "\\2a",
        "alice@example.org\u0000", "long", "alice\\40example.org", "\\61lice@example.org", "alice@example.or\\67",
        "st*", "st\\2ar\\28x\\29\\5cy@example.org", "st*r(x)*", "alice@example.org\u0000)(mail=*",
        "alice\u0000@example.org", "alice@example.org)", "(alice@example.org", "alice@example.org\\"})
    void injectionFindsNoUser(String given) throws Exception {
        String name = given.equals("long") ? "*)(uid=*".repeat(400) : given;
        for (boolean authBind : new boolean[] {false, true}) {
            LdapStore store = open(authBind, FILTER);
            Verdict v = store.verify(name, pw("alice-password"), SLOTS, Deadline.NONE);
            assertNotEquals(Verdict.ACCEPTED, v);
            assertEquals(Verdict.UNKNOWN_USER, v, name);
        }
    }

    /** Escaped, a name with *, (, ) and \\ matches the one entry that holds it, in both modes. */
    @ParameterizedTest(name = "auth bind {0}")
    @ValueSource(booleans = {false, true})
    void aNameWithFilterCharactersMatchesItsOwnEntry(boolean authBind) throws Exception {
        LdapStore store = open(authBind, FILTER);
        assertEquals(Verdict.ACCEPTED, store.verify(SPECIAL, pw("special-password"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.WRONG_PASSWORD, store.verify(SPECIAL, pw("alice-password"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.WRONG_PASSWORD, store.verify(SPECIAL, pw(""), SLOTS, Deadline.NONE), "never an anonymous bind");
    }

    /**
     * The empty password never logs in, whatever the entry: one with a password, one without, one
     * whose DN would bind anonymously; and a password of one NUL is not the empty password.
     */
    @ParameterizedTest(name = "auth bind {0}")
    @ValueSource(booleans = {false, true})
    void theEmptyPasswordNeverBinds(boolean authBind) throws Exception {
        LdapStore store = open(authBind, FILTER);
        for (String user : new String[] {"alice@example.org", "bob@example.org", "nopw@example.org", SPECIAL}) {
            assertEquals(Verdict.WRONG_PASSWORD, store.verify(user, new byte[0], SLOTS, Deadline.NONE), user);
            assertNotEquals(Verdict.ACCEPTED, store.verify(user, new byte[] {0}, SLOTS, Deadline.NONE), user);
        }
        assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE), "still binds");
    }

    @Test
    void filterEscapingFollowsRfc4515() {
        assertEquals("\\2a\\29\\28uid=\\2a\\5c\\00", LdapStore.escape("*)(uid=*\\\0"));
    }

    @Test
    void badConfigurationIsRefusedAtStart() {
        assertThrows(InvalidStoreConfig.class, () -> LdapStore.open(new LdapStore.Config(slapd.url(), false, null,
                SlapdServer.SERVICE_DN, pw("wrong"), SlapdServer.BASE, FILTER, false, "userPassword", "SHA512-CRYPT", 1,
                true)));
        var unreachable = assertThrows(InvalidStoreConfig.class, () -> LdapStore.open(new LdapStore.Config(
                "ldap://127.0.0.1:1", false, null, null, null, SlapdServer.BASE, FILTER, true, "userPassword",
                "SHA512-CRYPT", 1, true)));
        assertTrue(unreachable.getMessage().startsWith("cannot connect"), unreachable.getMessage());
        assertThrows(InvalidStoreConfig.class, () -> open(false, "mail=%u"));
        assertThrows(InvalidStoreConfig.class, () -> open(false, "(mail=%x)"));
        assertThrows(InvalidStoreConfig.class, () -> LdapStore.open(new LdapStore.Config("http://x", false, null,
                null, null, SlapdServer.BASE, FILTER, true, "userPassword", "SHA512-CRYPT", 1, true)));
    }

    @ParameterizedTest(name = "auth bind {0}")
    @ValueSource(booleans = {false, true})
    void startTlsAndLdapsWithTheirCaFile(boolean authBind) throws Exception {
        for (boolean startTls : new boolean[] {true, false}) {
            LdapStore store = LdapStore.open(new LdapStore.Config(startTls ? slapd.url() : slapd.tlsUrl(), startTls,
                    slapd.caFile(), SlapdServer.SERVICE_DN, pw(SERVICE_PASSWORD), SlapdServer.BASE, FILTER, authBind,
                    "userPassword", "SHA512-CRYPT", 1, true));
            assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE), "starttls " + startTls);
            assertEquals(Verdict.WRONG_PASSWORD, store.verify("alice@example.org", pw("alice-passwort"), SLOTS, Deadline.NONE));
            assertEquals(Verdict.ACCEPTED, store.verify("bob@example.org", pw("bob-password"), SLOTS, Deadline.NONE));
        }
        // without the CA file, Java's own trust store does not know the test CA
        assertThrows(InvalidStoreConfig.class, () -> LdapStore.open(new LdapStore.Config(slapd.url(), true, null,
                SlapdServer.SERVICE_DN, pw(SERVICE_PASSWORD), SlapdServer.BASE, FILTER, authBind, "userPassword",
                "SHA512-CRYPT", 1, true)));
    }

    @Test
    void failoverToTheNextUrl() throws Exception {
        LdapStore store = LdapStore.open(new LdapStore.Config("ldap://127.0.0.1:1 " + slapd.url(), false, null,
                SlapdServer.SERVICE_DN, pw(SERVICE_PASSWORD), SlapdServer.BASE, FILTER, true, "userPassword",
                "SHA512-CRYPT", 1, true));
        assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
    }

    @ParameterizedTest(name = "auth bind {0}")
    @ValueSource(booleans = {false, true})
    @Order(100)
    void aDirectoryDownIsATemporaryFailureLoggedOnceAndComesBack(boolean authBind) throws Exception {
        LdapStore store = open(authBind, FILTER);
        assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        slapd.stop();
        try {
            var run = CapturedLog.capture(() -> {
                for (int i = 0; i < 4; i++) {
                    long t0 = System.nanoTime();
                    assertEquals(Verdict.UNAVAILABLE, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    assertTrue(ms < 5000, ms + " ms");
                }
                return null;
            });
            assertEquals(1, run.log().events().stream().filter(l -> l.contains("unavailable, logins get")).count(),
                    run.log().raw());
            assertFalse(run.log().raw().contains(SERVICE_PASSWORD));
        } finally {
            slapd.startAgain();
        }
        var back = CapturedLog.capture(() -> store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        assertEquals(Verdict.ACCEPTED, back.result());
        assertTrue(back.log().raw().contains("answers again"), back.log().raw());
    }

    @Test
    @Order(101)
    void aHungDirectoryIsATemporaryFailureWithinTheBound() throws Exception {
        LdapStore store = open(false, FILTER);
        assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        SqlStoreContract.signal("STOP", java.util.List.of(slapd.pid()));
        try {
            long t0 = System.nanoTime();
            assertEquals(Verdict.UNAVAILABLE, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 5000, ms + " ms");
        } finally {
            SqlStoreContract.signal("CONT", java.util.List.of(slapd.pid()));
        }
        assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
    }

    static LdapStore open(boolean authBind, int connections) throws InvalidStoreConfig {
        return LdapStore.open(new LdapStore.Config(slapd.url(), false, null, SlapdServer.SERVICE_DN,
                pw(SERVICE_PASSWORD), SlapdServer.BASE, FILTER, authBind, "userPassword", "SHA512-CRYPT", connections,
                true));
    }

    /** Many logins at once on two connections, searches in flight side by side: each gets its own answer. */
    @ParameterizedTest(name = "auth bind {0}")
    @ValueSource(booleans = {false, true})
    void manyLoginsAtOnceOnFewConnections(boolean authBind) throws Exception {
        LdapStore store = open(authBind, 2);
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<?>> runs = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                int seed = t;
                runs.add(pool.submit(() -> {
                    for (int i = 0; i < 40; i++) {
                        switch ((seed + i) % 4) {
                            case 0 -> assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
                            case 1 -> assertEquals(Verdict.WRONG_PASSWORD, store.verify("alice@example.org", pw("bob-password"), SLOTS, Deadline.NONE));
                            case 2 -> assertEquals(Verdict.UNKNOWN_USER, store.verify("zed" + i + "@example.org", pw("x"), SLOTS, Deadline.NONE));
                            default -> assertEquals(Verdict.ACCEPTED, store.verify(SPECIAL, pw("special-password"), SLOTS, Deadline.NONE));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : runs) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
            store.close();
        }
    }

    /** A request whose deadline has passed fails at once, and is not the directory's outage. */
    @Test
    void aDeadlineAlreadyPassedIsATemporaryFailureNotAnOutage() throws Exception {
        for (boolean authBind : new boolean[] {false, true}) {
            LdapStore store = open(authBind, FILTER);
            var run = CapturedLog.capture(() -> store.verify("alice@example.org", pw("alice-password"), SLOTS,
                    Deadline.in(Clock.SYSTEM, Duration.ZERO)));
            assertEquals(Verdict.UNAVAILABLE, run.result());
            assertFalse(run.log().raw().contains("unavailable, logins get"), run.log().raw());
            store.close();
        }
    }

    /**
     * slapd killed while logins run on shared connections: a login answered before is OK, every
     * one after gets a temporary failure in time, never an OK; the store comes back with slapd.
     */
    @ParameterizedTest(name = "auth bind {0}")
    @ValueSource(booleans = {false, true})
    @Order(102)
    void aDirectoryStoppedMidRunFailsTheLoginsInFlightNeverOk(boolean authBind) throws Exception {
        LdapStore store = open(authBind, 2);
        record Call(long start, long end, Verdict verdict) {}
        ConcurrentLinkedQueue<Call> calls = new ConcurrentLinkedQueue<>();
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        long stoppedAt;
        try {
            List<Future<?>> runs = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                runs.add(pool.submit(() -> {
                    while (!stop.get()) {
                        long t0 = System.nanoTime();
                        Verdict v = store.verify("alice@example.org", pw("alice-password"), SLOTS,
                                Deadline.in(Clock.SYSTEM, Duration.ofSeconds(10)));
                        calls.add(new Call(t0, System.nanoTime(), v));
                    }
                    return null;
                }));
            }
            Thread.sleep(300);
            slapd.stop();
            stoppedAt = System.nanoTime();
            Thread.sleep(700);
            stop.set(true);
            for (Future<?> f : runs) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            stop.set(true);
            pool.shutdownNow();
            if (slapd.pidOrZero() == 0) {
                slapd.startAgain();
            }
        }
        assertTrue(calls.stream().anyMatch(c -> c.end() < stoppedAt && c.verdict() == Verdict.ACCEPTED), "some before");
        assertTrue(calls.stream().anyMatch(c -> c.start() > stoppedAt), "some after");
        for (Call c : calls) {
            assertTrue(c.verdict() == Verdict.ACCEPTED || c.verdict() == Verdict.UNAVAILABLE, c.toString());
            assertTrue(c.end() - c.start() < TimeUnit.SECONDS.toNanos(5), c.toString());
            if (c.start() > stoppedAt) {
                assertEquals(Verdict.UNAVAILABLE, c.verdict(), "a login after slapd stopped");
            }
        }
        assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        store.close();
    }

    /**
     * A directory too slow for the deadline (stopped with SIGSTOP, several logins waiting on
     * one connection): each login gets a temporary failure at its deadline, not at the driver's
     * timeouts, and never an OK; once slapd goes on, the same store logs in again.
     */
    @ParameterizedTest(name = "auth bind {0}")
    @ValueSource(booleans = {false, true})
    @Order(103)
    void aSlowDirectoryFailsEachLoginAtItsDeadline(boolean authBind) throws Exception {
        LdapStore store = open(authBind, 1);
        assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        SqlStoreContract.signal("STOP", List.of(slapd.pid()));
        try {
            List<Future<Long>> runs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                runs.add(pool.submit(() -> {
                    long t0 = System.nanoTime();
                    assertEquals(Verdict.UNAVAILABLE, store.verify("alice@example.org", pw("alice-password"), SLOTS,
                            Deadline.in(Clock.SYSTEM, Duration.ofMillis(400))));
                    return (System.nanoTime() - t0) / 1_000_000;
                }));
            }
            for (Future<Long> f : runs) {
                long ms = f.get(30, TimeUnit.SECONDS);
                assertTrue(ms >= 350 && ms < 1400, ms + " ms");
            }
        } finally {
            SqlStoreContract.signal("CONT", List.of(slapd.pid()));
            pool.shutdownNow();
        }
        assertEquals(Verdict.ACCEPTED, store.verify("alice@example.org", pw("alice-password"), SLOTS, Deadline.NONE));
        store.close();
    }
}
