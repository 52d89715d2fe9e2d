package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.saslauth.e2e.SmtpClient.base64;
import static org.saslauth.e2e.SmtpClient.plain;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestReporter;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.saslauth.e2e.PostfixInstance.Variant;
import org.saslauth.e2e.SmtpClient.Reply;

/**
 * The whole thing: a real Postfix smtpd, configured as the README and {@code examples/} tell an
 * administrator, authenticating real SMTP sessions through the freshly built
 * {@code target/saslauth.jar} under spawn(8). Needs root and Postfix (installed when missing).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@ExtendWith(PostfixInstance.RuntimeCondition.class)
class PostfixIT {

    private static final Duration IO_TIMEOUT = Duration.ofSeconds(15);
    private static final Duration LOG_WAIT = Duration.ofSeconds(10);
    private static final String RELAY_RCPT = "someone@example.net";

    private static final Map<String, String> PASSWORDS = Map.of(
            "alice", "alice-password", "bob", "bob-password", "carol", "carol-password");

    private static PostfixInstance postfix;

    /** Final answers saslauth gave per variant (235 and 535 seen by the client): its log must match. */
    private static final Map<Variant, AtomicInteger> OKS = new EnumMap<>(Variant.class);
    private static final Map<Variant, AtomicInteger> FAILS = new EnumMap<>(Variant.class);
    private static final Map<String, Long> TIMINGS = new LinkedHashMap<>();
    private static volatile boolean helpersKilled;
    private long testStart;

    @BeforeAll
    static void startPostfix() throws IOException {
        long start = System.nanoTime();
        PostfixInstance.requirePostfix();
        for (Variant v : Variant.values()) {
            OKS.put(v, new AtomicInteger());
            FAILS.put(v, new AtomicInteger());
        }
        postfix = PostfixInstance.start(Path.of(System.getProperty("basedir", ".")));
        TIMINGS.put("start Postfix", System.nanoTime() - start);
        start = System.nanoTime();
        smtpdTalksToSaslauth();
        TIMINGS.put("first EHLO of each variant (helpers start)", System.nanoTime() - start);
    }

    /**
     * When smtpd and saslauth cannot agree, smtpd dies before its greeting and master throttles
     * it, so every test would wait for its own timeout: stop at the first sign instead.
     */
    private static void smtpdTalksToSaslauth() {
        for (Variant v : Variant.values()) {
            try (SmtpClient smtp = new SmtpClient(postfix.port(v), IO_TIMEOUT)) {
                Reply ehlo = smtp.send("EHLO client.saslauth.test");
                if (smtp.greeting().code() == 220 && ehlo.code() == 250 && !SmtpClient.authMechanisms(ehlo).isEmpty()) {
                    continue;
                }
                throw new AssertionError(v + ": smtpd offers no AUTH: " + smtp.greeting() + " / " + ehlo
                        + "\n" + postfix.maillogTail(30));
            } catch (IOException e) {
                throw new AssertionError(v + ": no working SMTP session (" + e + "); smtpd and saslauth"
                        + " do not get along?\n" + postfix.maillogTail(30), e);
            }
        }
    }

    @AfterAll
    static void stopPostfix(TestReporter reporter) {
        if (postfix == null) {
            return;
        }
        long start = System.nanoTime();
        postfix.close();
        assertTrue(postfix.helpers(null).isEmpty(), "saslauth helpers survived postfix stop");
        TIMINGS.put("stop Postfix", System.nanoTime() - start);
        StringBuilder report = new StringBuilder("PostfixIT timings:\n");
        TIMINGS.forEach((name, nanos) -> report.append(String.format("  %6d ms  %s%n", nanos / 1_000_000, name)));
        reporter.publishEntry("timings", report.toString());
    }

    @BeforeEach
    void startClock() {
        testStart = System.nanoTime();
    }

    @AfterEach
    void stopClock(TestInfo info) {
        TIMINGS.put(info.getDisplayName(), System.nanoTime() - testStart);
    }

    // --- the checks -----------------------------------------------------------------------------

    @Order(1)
    @ParameterizedTest(name = "{0}: EHLO offers exactly the configured mechanisms")
    @EnumSource(Variant.class)
    void ehloOffersTheConfiguredMechanisms(Variant v) throws IOException {
        List<String> expected = switch (v) {
            case OREORE -> List.of("PLAIN", "LOGIN", "OREORE");
            case CHALLENGE -> List.of("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256");
            default -> List.of("PLAIN", "LOGIN");
        };
        try (SmtpClient smtp = connect(v)) {
            Reply ehlo = expect(250, smtp.send("EHLO client.saslauth.test"), "EHLO");
            assertEquals(expected, SmtpClient.authMechanisms(ehlo), context("EHLO " + ehlo));
            expect(221, smtp.send("QUIT"), "QUIT");
        }
    }

    @Order(2)
    @ParameterizedTest(name = "{0}: AUTH PLAIN with an initial response, right and wrong")
    @EnumSource(value = Variant.class, names = {"EXAMPLE", "DEBUG"})
    void plainWithInitialResponse(Variant v) throws IOException {
        try (SmtpClient smtp = session(v)) {
            Reply wrong = auth(v, smtp, "AUTH PLAIN " + plain("alice", "not-her-password"), 535);
            assertSlow(wrong);
            Reply unknown = auth(v, smtp, "AUTH PLAIN " + plain("mallory", "alice-password"), 535);
            assertSlow(unknown);
            auth(v, smtp, "AUTH PLAIN " + plain("alice", "alice-password"), 235);
            assertLoggedInAs(smtp, "PLAIN", "alice");
        }
    }

    @Order(3)
    @ParameterizedTest(name = "{0}: AUTH PLAIN without an initial response, and AUTH PLAIN =")
    @EnumSource(value = Variant.class, names = {"EXAMPLE", "DEBUG"})
    void plainWithoutInitialResponse(Variant v, TestReporter reporter) throws IOException {
        try (SmtpClient smtp = session(v)) {
            // "=" is an empty initial response (RFC 4954); an empty PLAIN message is invalid.
            Reply empty = auth(v, smtp, "AUTH PLAIN =", 535);
            assertSlow(empty);
            assertTrue(empty.text().startsWith("5.7.8 Error: authentication failed: "), context("AUTH PLAIN = -> " + empty));
            reporter.publishEntry(v + ": AUTH PLAIN =", empty.toString());
            Reply challenge = expect(334, smtp.send("AUTH PLAIN"), "AUTH PLAIN");
            assertEquals("", challenge.text(), context("empty challenge expected: " + challenge));
            auth(v, smtp, plain("bob", "bob-password"), 235);
            assertLoggedInAs(smtp, "PLAIN", "bob");
        }
    }

    @Order(4)
    @ParameterizedTest(name = "{0}: AUTH LOGIN, with and without the user name on the AUTH line")
    @EnumSource(value = Variant.class, names = {"EXAMPLE", "DEBUG"})
    void login(Variant v) throws IOException {
        try (SmtpClient smtp = session(v)) {
            Reply user = expect(334, smtp.send("AUTH LOGIN"), "AUTH LOGIN");
            assertEquals("Username:", SmtpClient.unbase64(user.text()), context("LOGIN prompt " + user));
            Reply password = expect(334, smtp.send(base64("carol")), "LOGIN user name");
            assertEquals("Password:", SmtpClient.unbase64(password.text()), context("LOGIN prompt " + password));
            auth(v, smtp, base64("carol-password"), 235);
            assertLoggedInAs(smtp, "LOGIN", "carol");
        }
        try (SmtpClient smtp = session(v)) {
            Reply password = expect(334, smtp.send("AUTH LOGIN " + base64("bob")), "AUTH LOGIN user");
            assertEquals("Password:", SmtpClient.unbase64(password.text()), context("LOGIN prompt " + password));
            auth(v, smtp, base64("wrong"), 535);
            expect(334, smtp.send("AUTH LOGIN " + base64("bob")), "AUTH LOGIN user");
            auth(v, smtp, base64("bob-password"), 235);
            assertLoggedInAs(smtp, "LOGIN", "bob");
        }
    }

    @Order(5)
    @ParameterizedTest(name = "{0}: a cancelled AUTH, then a good one in the same session")
    @EnumSource(value = Variant.class, names = {"EXAMPLE", "DEBUG"})
    void cancelThenAuthenticate(Variant v) throws IOException {
        try (SmtpClient smtp = session(v)) {
            expect(334, smtp.send("AUTH LOGIN"), "AUTH LOGIN");
            expect(501, smtp.send("*"), "cancel LOGIN");
            expect(334, smtp.send("AUTH PLAIN"), "AUTH PLAIN");
            expect(501, smtp.send("*"), "cancel PLAIN");
            auth(v, smtp, "AUTH PLAIN " + plain("alice", "alice-password"), 235);
            assertLoggedInAs(smtp, "PLAIN", "alice");
        }
    }

    @Order(6)
    @Test
    void oreoreLogsInAnyNameWhenEnabled(TestReporter reporter) throws IOException {
        try (SmtpClient smtp = session(Variant.OREORE)) {
            auth(Variant.OREORE, smtp, "AUTH OREORE " + base64("dave"), 235);
            assertLoggedInAs(smtp, "OREORE", "dave");
        }
        try (SmtpClient smtp = session(Variant.OREORE)) {
            auth(Variant.OREORE, smtp, "AUTH PLAIN " + plain("carol", "carol-password"), 235);
        }
        // Not offered, so smtpd refuses it without asking saslauth.
        try (SmtpClient smtp = session(Variant.EXAMPLE)) {
            Reply r = smtp.send("AUTH OREORE " + base64("dave"));
            reporter.publishEntry("AUTH OREORE where it is not enabled", r.toString());
            assertEquals(5, r.code() / 100, context("AUTH OREORE where it is not enabled: " + r));
        }
    }

    @Order(7)
    @Test
    void relayNeedsAuthAndAuthenticatedMailIsQueued() throws IOException {
        try (SmtpClient smtp = session(Variant.EXAMPLE)) {
            expect(250, smtp.send("MAIL FROM:<alice@saslauth.test>"), "MAIL FROM");
            Reply rcpt = smtp.send("RCPT TO:<" + RELAY_RCPT + ">");
            assertTrue(rcpt.code() >= 400, context("relaying without AUTH must be refused: " + rcpt));
            assertTrue(rcpt.text().contains("Relay access denied"), context("RCPT " + rcpt));
        }
        String queueId;
        try (SmtpClient smtp = session(Variant.EXAMPLE)) {
            auth(Variant.EXAMPLE, smtp, "AUTH PLAIN " + plain("alice", "alice-password"), 235);
            expect(250, smtp.send("MAIL FROM:<alice@saslauth.test>"), "MAIL FROM");
            expect(250, smtp.send("RCPT TO:<" + RELAY_RCPT + ">"), "RCPT after AUTH");
            expect(354, smtp.send("DATA"), "DATA");
            Reply queued = expect(250, smtp.send("Subject: saslauth end-to-end test\r\n\r\nHello.\r\n."), "end of DATA");
            Matcher m = Pattern.compile("queued as ([0-9A-Za-z]+)").matcher(queued.text());
            assertTrue(m.find(), context("no queue id in " + queued));
            queueId = m.group(1);
            expect(221, smtp.send("QUIT"), "QUIT");
        }
        awaitLog("/smtpd\\[\\d+\\]: " + queueId + ": client=.*sasl_method=PLAIN, sasl_username=alice$");
        long deadline = System.nanoTime() + LOG_WAIT.toNanos();
        String queue = postfix.queueListing();
        while (!queue.contains(queueId) && System.nanoTime() < deadline) {
            PostfixInstance.sleep(200);
            queue = postfix.queueListing();
        }
        assertTrue(queue.contains(queueId) && queue.contains(RELAY_RCPT),
                context("queue id " + queueId + " not in postqueue -p:\n" + queue));
    }

    @Order(8)
    @Test
    void manySessionsAtOnce() throws Exception {
        int sessions = 24;
        List<String> users = List.of("alice", "bob", "carol", "mallory");
        // Every session is past EHLO (so has its smtpd and helper) before any sends AUTH.
        CyclicBarrier allConnected = new CyclicBarrier(sessions);
        ExecutorService pool = Executors.newFixedThreadPool(sessions);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < sessions; i++) {
                String user = users.get(i % users.size());
                Variant v = i % 3 == 2 ? Variant.DEBUG : Variant.EXAMPLE;
                results.add(pool.submit(() -> {
                    String password = PASSWORDS.getOrDefault(user, "guess");
                    int expected = PASSWORDS.containsKey(user) ? 235 : 535;
                    try (SmtpClient smtp = session(v)) {
                        allConnected.await(30, TimeUnit.SECONDS);
                        Reply r = auth(v, smtp, "AUTH PLAIN " + plain(user, password), expected);
                        return user + "@" + v + ": " + r;
                    }
                }));
            }
            for (Future<String> f : results) {
                f.get(45, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * The helpers run on the runtime the launcher was given ({@code saslauth.e2e.java}, else
     * {@code java}) and have mapped the start-up cache {@code saslauth cds} made for it: a cache
     * the runtime refused would not be mapped.
     */
    @Order(1)
    @Test
    void helpersRunOnTheChosenRuntimeWithItsStartupCache() throws IOException {
        Path expected = (postfix.runtime != null ? postfix.runtime : Path.of("/usr/bin/java")).toRealPath();
        String cache = postfix.startupCache().toRealPath().toString();
        try (SmtpClient open = session(Variant.EXAMPLE)) {
            List<ProcessHandle> helpers = postfix.helpers(Variant.EXAMPLE);
            assertFalse(helpers.isEmpty(), context("no running saslauth helper found"));
            for (ProcessHandle h : helpers) {
                Path command = Path.of(h.info().command().orElse("?"));
                assertEquals(expected, command.toRealPath(), "the helper's runtime");
                String maps = java.nio.file.Files.readString(Path.of("/proc/" + h.pid() + "/maps"));
                assertTrue(maps.contains(cache), "helper " + h.pid() + " on " + command + " has not mapped " + cache);
            }
        }
    }

    @Order(9)
    @Test
    void killedHelperIsReplaced(TestReporter reporter) throws IOException {
        try (SmtpClient open = session(Variant.EXAMPLE)) {
            List<ProcessHandle> helpers = postfix.helpers(Variant.EXAMPLE);
            assertFalse(helpers.isEmpty(), context("no running saslauth helper found"));
            // What spawn(8) does when saslauth_time_limit runs out.
            helpersKilled = true;
            helpers.forEach(ProcessHandle::destroyForcibly);
            for (ProcessHandle h : helpers) {
                h.onExit().orTimeout(5, TimeUnit.SECONDS).join();
            }
            // spawn(8) reports each, as it does when saslauth_time_limit runs out.
            String killed = "postfix/spawn\\[\\d+\\]: warning: command \\S+/saslauth killed by signal 9";
            long deadline = System.nanoTime() + LOG_WAIT.toNanos();
            while (countLog(killed) < helpers.size() && System.nanoTime() < deadline) {
                PostfixInstance.sleep(50);
            }
            assertEquals(helpers.size(), countLog(killed), context("spawn's reports of the kills"));
            // The session that was open when its helper died: smtpd either notices the dead
            // socket when writing (and reconnects) or only when reading (454, then reconnects).
            Reply first = open.send("AUTH PLAIN " + plain("alice", "alice-password"));
            reporter.publishEntry("first AUTH after killing " + helpers.size()
                    + " helper(s), in a session opened before", first.toString());
            if (first.code() == 235) {
                OKS.get(Variant.EXAMPLE).incrementAndGet();
            } else {
                assertEquals(454, first.code(), context("first AUTH after the kill: " + first));
                auth(Variant.EXAMPLE, open, "AUTH PLAIN " + plain("alice", "alice-password"), 235);
            }
        }
        for (int i = 0; i < 3; i++) {
            try (SmtpClient smtp = session(Variant.EXAMPLE)) {
                auth(Variant.EXAMPLE, smtp, "AUTH PLAIN " + plain("carol", "carol-password"), 235);
            }
        }
        assertFalse(postfix.helpers(Variant.EXAMPLE).isEmpty(), context("no helper after the kill"));
    }

    // --- CRAM-MD5 and SCRAM with real clients, against entries doveadm made -----------------------

    /** A user of {@link PostfixInstance#CHALLENGE_USERS} (or of the examples) and its password. */
    private static String passwordOf(String user) {
        return PostfixInstance.CHALLENGE_USERS.stream().filter(u -> u.get(0).equals(user)).map(u -> u.get(2))
                .findFirst().orElseGet(() -> PASSWORDS.get(user));
    }

    /** Runs a client once, counts its verdicts, and checks it got the one expected. */
    private static void expectClient(MailClients.Outcome o, boolean accepted) {
        OKS.get(Variant.CHALLENGE).addAndGet(o.accepted());
        FAILS.get(Variant.CHALLENGE).addAndGet(o.refused());
        System.out.println("PostfixIT: " + o.client() + " -> status " + o.status() + ", " + o.accepted()
                + " x 235, " + o.refused() + " x 535");
        if (accepted) {
            assertTrue(o.ok(), context("expected a login: " + o));
        } else {
            assertTrue(o.status() != 0 && o.accepted() == 0 && o.refused() >= 1, context("expected a refusal: " + o));
        }
    }

    private static void assertSaslauthLogged(String regex) {
        long deadline = System.nanoTime() + LOG_WAIT.toNanos();
        Pattern p = Pattern.compile(regex);
        while (System.nanoTime() < deadline) {
            if (postfix.saslauthLogText(Variant.CHALLENGE).lines().anyMatch(l -> p.matcher(l).find())) {
                return;
            }
            PostfixInstance.sleep(50);
        }
        throw new AssertionError(context("saslauth did not log " + regex + ":\n"
                + postfix.saslauthLogText(Variant.CHALLENGE)).get());
    }

    @Order(13)
    @ParameterizedTest(name = "swaks --auth CRAM-MD5 as {0}, right password: {1}")
    @org.junit.jupiter.params.provider.CsvSource({
        "cram,true", "cram,false", "cram8,true", "cram8,false", "carol,true", "plain8,true"})
    void swaksCramMd5(String user, boolean right) throws IOException {
        String password = right ? passwordOf(user) : passwordOf(user) + "x";
        expectClient(MailClients.swaks(postfix.port(Variant.CHALLENGE), "CRAM-MD5", user, password), right);
        assertSaslauthLogged("auth " + (right ? "ok" : "failed") + ": .*mech=CRAM-MD5 user=\"" + user + "\"");
    }

    @Order(13)
    @Test
    void aOneWayHashCannotServeCramMd5() throws IOException {
        expectClient(MailClients.swaks(postfix.port(Variant.CHALLENGE), "CRAM-MD5", "alice", "alice-password"), false);
        assertSaslauthLogged("auth failed: .*mech=CRAM-MD5 user=\"alice\" .*reason=\"stored password cannot serve"
                + " this mechanism: \\{SHA512-CRYPT\\} is a one-way hash\"");
    }

    @Order(14)
    @ParameterizedTest(name = "curl AUTH=CRAM-MD5 as {0}, right password: {1}")
    @org.junit.jupiter.params.provider.CsvSource({"cram,true", "cram,false", "cram8,true", "carol,true"})
    void curlCramMd5(String user, boolean right) throws IOException {
        String password = right ? passwordOf(user) : "not-" + passwordOf(user);
        MailClients.Outcome o = MailClients.curl(postfix.port(Variant.CHALLENGE), "CRAM-MD5", user, password);
        assertTrue(o.output().contains("AUTH CRAM-MD5"), context("curl did not use CRAM-MD5: " + o));
        expectClient(o, right);
    }

    /** smtplib tries CRAM-MD5 first, then PLAIN and LOGIN when it fails: three refusals for a wrong password. */
    @Order(15)
    @ParameterizedTest(name = "Python smtplib as {0}, right password: {1}")
    @org.junit.jupiter.params.provider.CsvSource({"cram,true", "cram,false", "carol,true"})
    void pythonSmtplib(String user, boolean right) throws IOException {
        String password = right ? passwordOf(user) : passwordOf(user) + "-wrong";
        MailClients.Outcome o = MailClients.smtplib(postfix.port(Variant.CHALLENGE), user, password);
        assertTrue(o.output().contains("AUTH CRAM-MD5"), context("smtplib did not pick CRAM-MD5: " + o));
        expectClient(o, right);
        if (right) {
            assertSaslauthLogged("auth ok: .*mech=CRAM-MD5 user=\"" + user + "\"");
        } else {
            assertEquals(3, o.refused(), context("smtplib tries CRAM-MD5, PLAIN and LOGIN: " + o));
        }
    }

    /**
     * gsasl for SCRAM, and CRAM-MD5 once: the right or a wrong password; the {@code {SCRAM-SHA-1}}
     * entry cannot serve SCRAM-SHA-256, nor SHA512-CRYPT any; mallory is unknown.
     */
    @Order(16)
    @ParameterizedTest(name = "gsasl {0} as {1}, {2} password -> {3}")
    @org.junit.jupiter.params.provider.CsvSource({
        "SCRAM-SHA-1,scram1,right,235", "SCRAM-SHA-1,scram1,wrong,535", "SCRAM-SHA-1,scram1u,right,235",
        "SCRAM-SHA-1,scram1u,wrong,535", "SCRAM-SHA-1,carol,right,235", "SCRAM-SHA-1,plain8,right,235",
        "SCRAM-SHA-256,scram256,right,235", "SCRAM-SHA-256,scram256,wrong,535", "SCRAM-SHA-256,scram256u,right,235",
        "SCRAM-SHA-256,scram256u,wrong,535", "SCRAM-SHA-256,carol,right,235", "SCRAM-SHA-256,plain8,right,235",
        "SCRAM-SHA-256,scram1,right,535", "SCRAM-SHA-256,alice,right,535", "SCRAM-SHA-256,mallory,right,535",
        "CRAM-MD5,cram8,right,235"})
    void gsasl(String mechanism, String user, String which, int expected) throws IOException {
        String known = user.equals("mallory") ? "mallory-password" : passwordOf(user);
        String password = which.equals("right") ? known : known.substring(1);
        MailClients.Outcome o = MailClients.gsasl(postfix.port(Variant.CHALLENGE), mechanism, user, password);
        expectClient(o, expected == 235);
        assertSaslauthLogged("auth " + (expected == 235 ? "ok" : "failed") + ": .*mech=" + mechanism
                + " user=\"" + user + "\"");
        if (expected == 235 && mechanism.startsWith("SCRAM")) {
            assertTrue(o.output().contains("server trusted"), context("gsasl did not check the server signature: " + o));
        }
    }

    @Order(20)
    @ParameterizedTest(name = "{0}: saslauth''s log has one line per attempt and no secret")
    @EnumSource(Variant.class)
    void logHoldsOneLinePerAttemptAndNoSecret(Variant v) {
        awaitCount(v, "auth ok: ", OKS.get(v).get());
        awaitCount(v, "auth failed: ", FAILS.get(v).get());
        String log = postfix.saslauthLogText(v);
        Map<String, String> passwords = new LinkedHashMap<>(PASSWORDS);
        PostfixInstance.CHALLENGE_USERS.forEach(u -> passwords.put(u.get(0), u.get(2)));
        for (Map.Entry<String, String> e : passwords.entrySet()) {
            for (String secret : List.of(e.getValue(), base64(e.getValue()), plain(e.getKey(), e.getValue()))) {
                assertFalse(log.contains(secret), "a secret is in " + postfix.saslauthLog(v) + ":\n" + log);
            }
        }
        if (v == Variant.DEBUG) {
            assertTrue(log.contains(" DEBUG "), "no debug line in " + postfix.saslauthLog(v) + ":\n" + log);
        }
        assertFalse(log.contains(" ERROR ") || log.contains("Exception"),
                "errors in " + postfix.saslauthLog(v) + ":\n" + log);
    }

    /**
     * Anything saslauth or its JVM writes to stdout or stderr reaches smtpd as a protocol line,
     * which then complains in its log; so does a handshake it does not like.
     */
    @Order(21)
    @Test
    void postfixLogsNoProtocolTrouble() {
        List<Pattern> expected = new ArrayList<>(List.of(
                Pattern.compile("warning: [^:]+\\[127\\.0\\.0\\.1\\]: SASL (PLAIN|LOGIN|CRAM-MD5|SCRAM-SHA-1|SCRAM-SHA-256)"
                        + " authentication failed: .*"),
                Pattern.compile("warning: [^:]+\\[127\\.0\\.0\\.1\\]: SASL (PLAIN|LOGIN) authentication aborted"),
                Pattern.compile("warning: [^:]+\\[127\\.0\\.0\\.1\\]: SASL OREORE authentication failed: "
                        + "Invalid authentication mechanism")));
        if (helpersKilled) {
            expected.add(Pattern.compile("warning: command \\S+/saslauth killed by signal 9"));
        }
        List<String> trouble = postfix.maillog().lines()
                .filter(l -> l.matches(".*\\b(warning|error|fatal|panic):.*"))
                .filter(l -> expected.stream().noneMatch(p -> p.matcher(l).find()))
                .toList();
        assertEquals(List.of(), trouble, () -> "unexpected complaints in Postfix's log\n" + postfix.maillogTail(60));
    }

    /**
     * smtpd ignores a line it does not know, so a stray line from saslauth or its JVM would go
     * unnoticed; smtpd runs with -v here and logs every line it reads ("auth reply: ", with TAB
     * shown as "?"), and each must be a line of the protocol.
     */
    @Order(22)
    @Test
    void smtpdReadsNothingButProtocolLines() {
        Pattern reply = Pattern.compile(": auth reply: (.*)$");
        Pattern protocol = Pattern.compile("(VERSION|MECH|SPID|CUID|COOKIE|DONE|OK|FAIL|CONT)(\\?.*)?");
        List<String> lines = postfix.maillog().lines()
                .map(reply::matcher)
                .filter(Matcher::find)
                .map(m -> m.group(1))
                .toList();
        assertFalse(lines.isEmpty(), () -> "smtpd -v logged no auth reply lines\n" + postfix.maillogTail(30));
        List<String> stray = lines.stream().filter(l -> !protocol.matcher(l).matches()).toList();
        assertEquals(List.of(), stray, "smtpd read lines that are not saslauth's protocol (stdout/stderr leak?)");
    }

    // --- helpers --------------------------------------------------------------------------------

    private static SmtpClient connect(Variant v) throws IOException {
        SmtpClient smtp = new SmtpClient(postfix.port(v), IO_TIMEOUT);
        if (smtp.greeting().code() != 220) {
            smtp.close();
            throw new AssertionError(context("greeting " + smtp.greeting()).get());
        }
        return smtp;
    }

    /** A connected session after a successful EHLO. */
    private static SmtpClient session(Variant v) throws IOException {
        SmtpClient smtp = connect(v);
        try {
            expect(250, smtp.send("EHLO client.saslauth.test"), "EHLO");
        } catch (IOException | RuntimeException | Error e) {
            smtp.close();
            throw e;
        }
        return smtp;
    }

    /** Sends an AUTH line (or the last line of an AUTH exchange) and expects saslauth's verdict. */
    private static Reply auth(Variant v, SmtpClient smtp, String line, int expectedCode) throws IOException {
        Reply r = smtp.send(line);
        if (r.code() == 235) {
            OKS.get(v).incrementAndGet();
        } else if (r.code() == 535) {
            FAILS.get(v).incrementAndGet();
        }
        assertEquals(expectedCode, r.code(), context(v + ": " + redact(line) + " -> " + r));
        return r;
    }

    private static Reply expect(int code, Reply r, String what) {
        assertEquals(code, r.code(), context(what + " -> " + r));
        return r;
    }

    /** A 535 comes after saslauth's failure delay. */
    private static void assertSlow(Reply r) {
        assertTrue(r.elapsed().compareTo(PostfixInstance.FAILURE_DELAY) >= 0,
                context("a failure came before the failure delay of " + PostfixInstance.FAILURE_DELAY + ": " + r));
    }

    /**
     * smtpd logs the SASL user name with the queue id, which it assigns at the first accepted
     * RCPT; the relay recipient is accepted only for an authenticated client.
     */
    private static void assertLoggedInAs(SmtpClient smtp, String mechanism, String user) throws IOException {
        String line = "client=\\S+\\[127\\.0\\.0\\.1\\], sasl_method=" + mechanism + ", sasl_username=" + user + "$";
        long before = countLog(line);
        expect(250, smtp.send("MAIL FROM:<" + user + "@saslauth.test>"), "MAIL FROM");
        expect(250, smtp.send("RCPT TO:<" + RELAY_RCPT + ">"), "RCPT after AUTH");
        expect(250, smtp.send("RSET"), "RSET");
        long deadline = System.nanoTime() + LOG_WAIT.toNanos();
        while (countLog(line) <= before && System.nanoTime() < deadline) {
            PostfixInstance.sleep(50);
        }
        assertTrue(countLog(line) > before, context("Postfix did not log " + line));
    }

    private static long countLog(String regex) {
        Pattern p = Pattern.compile(regex);
        return postfix.maillog().lines().filter(l -> p.matcher(l).find()).count();
    }

    private static void awaitLog(String regex) {
        long deadline = System.nanoTime() + LOG_WAIT.toNanos();
        while (countLog(regex) == 0 && System.nanoTime() < deadline) {
            PostfixInstance.sleep(50);
        }
        assertTrue(countLog(regex) > 0, context("Postfix did not log " + regex));
    }

    private static void awaitCount(Variant v, String marker, int expected) {
        long deadline = System.nanoTime() + LOG_WAIT.toNanos();
        long count = 0;
        while (System.nanoTime() < deadline) {
            count = postfix.saslauthLogText(v).lines().filter(l -> l.contains(marker)).count();
            if (count == expected) {
                return;
            }
            PostfixInstance.sleep(100);
        }
        assertEquals(expected, count, "'" + marker + "' lines in " + postfix.saslauthLog(v) + ":\n"
                + postfix.saslauthLogText(v));
    }

    private static String redact(String line) {
        return line.startsWith("AUTH ") ? line.replaceFirst("^(AUTH \\S+) .*", "$1 ...") : "...";
    }

    private static Supplier<String> context(String what) {
        return () -> what + "\n" + postfix.maillogTail(25);
    }
}
