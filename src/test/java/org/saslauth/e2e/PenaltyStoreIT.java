package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.saslauth.servers.RedisServer;

/**
 * Issue 22: three daemons and spawned helpers sharing one real Redis ({@code --penalty-store
 * redis://}), with the default thresholds: the attack cases, a ban reaching the other servers at
 * the next login, Redis stopped, paused and back, and every key expiring. Each case uses
 * addresses and users of its own, so that the cases do not count each other's failures.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PenaltyStoreIT {

    private static RedisServer redis;
    private static Path dir;
    private static final List<DaemonProcess> daemons = new ArrayList<>();
    private static final List<AuthClient> clients = new ArrayList<>();
    private static Path users;
    private static int ids;
    private static int turn;

    @BeforeAll
    static void start() throws IOException {
        redis = RedisServer.start();
        dir = Files.createTempDirectory("saslauth-penalty-it-");
        StringBuilder passwd = new StringBuilder();
        for (String u : List.of("alice", "victim", "other")) {
            passwd.append(u).append(":{PLAIN}pw-").append(u).append('\n');
        }
        for (int i = 0; i < 100; i++) {
            passwd.append("u").append(i).append(":{PLAIN}pw-u").append(i).append('\n');
        }
        for (int i = 0; i < 40; i++) {
            passwd.append("c").append(i).append(":{PLAIN}pw-c").append(i).append('\n');
        }
        users = dir.resolve("users.passwd");
        Files.writeString(users, passwd);
        for (int n = 0; n < 3; n++) {
            Path d = Files.createDirectories(dir.resolve("daemon" + n));
            List<String> args = new ArrayList<>(serving());
            args.addAll(List.of("--listen", "unix:" + d.resolve("auth"), "--socket-mode", "0666"));
            daemons.add(DaemonProcess.start(d, d.resolve("auth"), args.toArray(new String[0])));
            AuthClient c = AuthClient.unix(d.resolve("auth"));
            c.handshake();
            clients.add(c);
        }
    }

    /** The options of every server: the shared store, no failure delay (not what is tested here). */
    static List<String> serving() {
        return List.of("--passwd-file", users.toString(), "--failure-delay", "0", "--auth-penalty", "false",
                "--penalty-store", redis.url(), "--penalty-store-password-file", redis.passwordFile().toString(),
                "--penalty-exempt", "198.18.0.0/15");
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            for (AuthClient c : clients) {
                c.close();
            }
            for (DaemonProcess d : daemons) {
                assertEquals(0, d.terminate(Duration.ofSeconds(10)), d.logText());
                assertFalse(d.logText().contains("pw-"), "a password in the log");
                assertFalse(d.logText().contains(RedisServer.PASSWORD), "the store's password in the log");
            }
        } finally {
            daemons.forEach(DaemonProcess::close);
            if (redis != null) {
                redis.close();
            }
        }
    }

    static String plain(String rip, String user, String password) {
        return "AUTH\t" + (++ids) + "\tPLAIN\tservice=smtp\trip=" + rip + "\tresp=" + Base64.getEncoder()
                .encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    /** One login on daemon {@code n}: OK or FAIL (FAIL-temp for a temporary failure). */
    static String on(int n, String rip, String user, String password) throws IOException {
        AuthClient c = clients.get(n);
        c.send(plain(rip, user, password));
        String reply = c.readLine();
        assertTrue(reply != null && (reply.startsWith("OK\t") || reply.startsWith("FAIL\t")), String.valueOf(reply));
        return reply.startsWith("OK") ? "OK" : reply.contains("code=temp_fail") ? "FAIL-temp" : "FAIL";
    }

    /** The lines of the daemon's log holding {@code text}, once there is one (the log is written in the background). */
    static long awaitCount(DaemonProcess d, String text) throws InterruptedException {
        return awaitCount(d, text, 0);
    }

    /** {@link #awaitCount}, of the lines after the first {@code before}. */
    static long awaitCount(DaemonProcess d, String text, long before) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (d.count(text) <= before && System.nanoTime() < end) {
            Thread.sleep(20);
        }
        Thread.sleep(100); // and no second one
        return d.count(text) - before;
    }

    /** One login on the next daemon in turn. */
    static String login(String rip, String user, String password) throws IOException {
        return on(turn++ % 3, rip, user, password);
    }

    /** One login through a helper spawned for it, as spawn(8) runs one per smtpd. */
    static String spawned(String rip, String user, String password, String... more) throws Exception {
        Path log = dir.resolve("helper.log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(List.of(more));
        cmd.addAll(List.of("-jar", DaemonProcess.projectDir().resolve("target/saslauth.jar").toString()));
        cmd.addAll(serving());
        cmd.addAll(List.of("--log-file", log.toString()));
        Process p = new ProcessBuilder(cmd).redirectError(dir.resolve("helper.stderr").toFile()).start();
        p.getOutputStream().write(("VERSION\t1\t0\nCPID\t1\n" + plain(rip, user, password) + "\n")
                .getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        try {
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the helper did not exit");
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String last = out.lines().reduce("", (a, b) -> b);
            return last.startsWith("OK") ? "OK" : last.startsWith("FAIL") ? "FAIL" : "?" + out;
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    @Order(1)
    void aTypoThenTheRightPassword() throws Exception {
        assertEquals("FAIL", login("192.0.2.1", "alice", "pw-alcie"));
        assertEquals("OK", login("192.0.2.1", "alice", "pw-alice"));
        assertEquals("OK", spawned("192.0.2.1", "alice", "pw-alice"));
    }

    @Test
    @Order(2)
    void anOfficeBehindOneAddressWithThreeStalePhonesAndThirtySevenColleagues() throws Exception {
        String nat = "198.51.100.7";
        for (int round = 0; round < 5; round++) {
            for (int phone = 0; phone < 3; phone++) {
                assertEquals("FAIL", login(nat, "c" + phone, "stale-password"));
            }
            for (int c = 3; c < 40; c++) {
                assertEquals("OK", login(nat, "c" + c, "pw-c" + c), "colleague c" + c);
            }
        }
        assertEquals("OK", spawned(nat, "c0", "pw-c0"), "the stale phone, updated");
        assertEquals("", redis.cli("--scan", "--pattern", "saslauth:ban:*").strip());
    }

    /** Credential stuffing over three daemons; the ban reaches every server at its next login. */
    @Test
    @Order(3)
    void oneAddressFailingOnHundredUsersThenARightPassword() throws Exception {
        String stuffer = "203.0.113.66";
        for (int i = 0; i < 100; i++) {
            assertEquals("FAIL", login(stuffer, "u" + i, "Summer2026!"));
        }
        for (int n = 0; n < 3; n++) {
            assertEquals("FAIL", on(n, stuffer, "u5", "pw-u5"), "daemon " + n);
        }
        assertEquals("FAIL", spawned(stuffer, "u5", "pw-u5"), "a helper spawned after the ban");
        assertEquals("OK", login("203.0.113.67", "u5", "pw-u5"), "the address next door");
        String banLine = "penalty: banned rip=" + stuffer + " for 900 s: failed on 10 users";
        long bans = 0;
        for (DaemonProcess d : daemons) {
            bans += awaitCount(d, "auth failed: rip=" + stuffer) > 0 ? d.count(banLine) : 0;
        }
        assertEquals(1, bans, "logged once, by one server");
    }

    @Test
    @Order(4)
    void theBanReachesTheOtherServersWithinOneLogin() throws Exception {
        String guesser = "203.0.113.70";
        for (int i = 0; i < 10; i++) {
            assertEquals("FAIL", on(0, guesser, "u" + i, "x"), "all on daemon 0");
        }
        assertEquals("FAIL", on(1, guesser, "u1", "pw-u1"), "the first login on daemon 1");
        assertEquals("FAIL", on(2, guesser, "u1", "pw-u1"), "the first login on daemon 2");
        redis.cli("PEXPIRE", "saslauth:ban:" + guesser, "1");
        Thread.sleep(50);
        assertEquals("OK", spawned(guesser, "u1", "pw-u1"), "once the ban expired");
        assertEquals("FAIL", on(2, guesser, "u1", "pw-u1"),
                "a server that was answered the ban refuses it unchecked until its own copy ends (30 s at most)");
    }

    @Test
    @Order(5)
    void oneUserFailedFromThreeHundredAddresses() throws Exception {
        assertEquals("OK", login("192.0.2.50", "victim", "pw-victim"), "the owner's usual address");
        for (int i = 0; i < 300; i++) {
            assertEquals("FAIL", login("10.1." + (i / 200) + "." + (i % 200 + 1), "victim", "guess" + i));
        }
        assertEquals("FAIL", login("10.9.9.9", "victim", "pw-victim"), "the botnet's right guess from a new address");
        assertEquals("FAIL", spawned("10.9.9.10", "victim", "pw-victim"), "through a helper too");
        for (int n = 0; n < 3; n++) {
            assertEquals("OK", on(n, "192.0.2.50", "victim", "pw-victim"), "the owner, on daemon " + n);
        }
        assertEquals("OK", spawned("192.0.2.50", "victim", "pw-victim"), "the owner, through a helper");
        assertEquals("OK", login("10.1.0.7", "other", "pw-other"), "other users from the botnet's addresses");
        assertEquals("OK", login("10.1.1.7", "alice", "pw-alice"));
        long protecting = 0;
        for (DaemonProcess d : daemons) {
            protecting += awaitCount(d, "auth ok: rip=192.0.2.50") > 0 ? d.count("penalty: protecting user=\"victim\"") : 0;
        }
        assertEquals(1, protecting, "logged once, by one server");
    }

    @Test
    @Order(6)
    void anExemptNetworkIsNeverBanned() throws Exception {
        for (int i = 0; i < 30; i++) {
            assertEquals("FAIL", login("198.18.0.1", "u" + i, "x"));
        }
        assertEquals("OK", login("198.18.0.1", "u1", "pw-u1"));
    }

    /** What the store keeps expires by itself: every key has a time to live but the guess key. */
    @Test
    @Order(6)
    void everyKeyExpires() throws Exception {
        long keys = Long.parseLong(redis.cli("EVAL", "return #redis.call('KEYS', 'saslauth:*')", "0").strip());
        assertTrue(keys > 10, keys + " keys");
        String lasting = redis.cli("EVAL", "local out = {} for _, k in ipairs(redis.call('KEYS', 'saslauth:*')) do"
                + " if redis.call('PTTL', k) < 0 then table.insert(out, k) end end return out", "0");
        assertEquals("saslauth:key", lasting.strip(), "every key but the guess key has a time to live");
        assertFalse(redis.cli("--scan", "--pattern", "saslauth:*").contains("pw-"), "no password in a key");
    }

    /** {@code saslauth penalty list} and {@code clear}, reading the servers' config file. */
    @Test
    @Order(7)
    void listAndClear() throws Exception {
        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, "passwd-file = " + users + "\npenalty-store = " + redis.url()
                + "\npenalty-store-password-file = " + redis.passwordFile() + "\n");
        String list = penalty("list", "--config", config.toString());
        assertTrue(list.contains("banned 203.0.113.66 for "), list);
        assertTrue(list.contains("protected user \"victim\" for "), list);
        assertFalse(list.contains(RedisServer.PASSWORD), list);
        assertEquals("cleared address 203.0.113.66", penalty("clear", "--config", config.toString(), "203.0.113.66").strip());
        assertEquals("OK", spawned("203.0.113.66", "u5", "pw-u5"), "a new helper, after the clear");
        assertEquals("cleared user \"victim\"", penalty("clear", "--config", config.toString(), "--user", "victim").strip());
        assertEquals("OK", spawned("10.9.9.11", "victim", "pw-victim"), "no longer protected");
        assertEquals("nothing to clear for address 192.0.2.254",
                penalty("clear", "--config", config.toString(), "192.0.2.254").strip());
    }

    static String penalty(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", DaemonProcess.projectDir().resolve("target/saslauth.jar").toString(), "penalty"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    /** Redis paused (it accepts connections and answers nothing): each login waits 50 ms at most for it. */
    @Test
    @Order(8)
    void redisSlowOrStoppedThenBack() throws Exception {
        // an earlier read timed out on a machine starved of CPU counts too: lines from here on
        long[] goneBefore = new long[daemons.size()];
        long[] backBefore = new long[daemons.size()];
        for (int n = 0; n < daemons.size(); n++) {
            goneBefore[n] = daemons.get(n).count("does not answer");
            backBefore[n] = daemons.get(n).count("answers again");
        }
        redis.pause(true);
        try {
            long t0 = System.nanoTime();
            assertEquals("OK", on(0, "192.0.2.80", "alice", "pw-alice"));
            assertEquals("FAIL", on(0, "192.0.2.80", "alice", "wrong"));
            assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(2).toNanos(), "answered at once");
        } finally {
            redis.pause(false);
        }
        redis.stop();
        for (int n = 0; n < 3; n++) {
            assertEquals("OK", on(n, "192.0.2.81", "alice", "pw-alice"), "Redis down, daemon " + n);
            assertEquals("FAIL", on(n, "192.0.2.81", "alice", "wrong"));
        }
        assertEquals("OK", spawned("192.0.2.81", "alice", "pw-alice"), "a helper while Redis is down");
        for (int i = 0; i < 10; i++) {
            on(0, "203.0.113.90", "u" + i, "x");
        }
        assertEquals("FAIL", on(0, "203.0.113.90", "u1", "pw-u1"), "banned by daemon 0 alone meanwhile");
        for (int n = 0; n < daemons.size(); n++) {
            DaemonProcess d = daemons.get(n);
            assertEquals(1, awaitCount(d, "does not answer", goneBefore[n]), "one line for the outage\n" + d.logText());
        }
        redis.startAgain();
        Thread.sleep(1100); // the retry interval
        for (int i = 0; i < 10; i++) {
            on(1, "203.0.113.91", "u" + i, "x");
        }
        assertEquals("FAIL", on(2, "203.0.113.91", "u1", "pw-u1"), "sharing resumed");
        for (int n : new int[] {1, 2}) {
            assertEquals(1, awaitCount(daemons.get(n), "answers again", backBefore[n]), daemons.get(n).logText());
        }
    }

    /** The Redis client's classes load only when the store is Redis. */
    @Test
    @Order(9)
    void aHelperCountingInMemoryLoadsNoRedisClass() throws Exception {
        Path classes = dir.resolve("classes.txt");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xlog:class+load=info:file=" + classes, "-jar",
                DaemonProcess.projectDir().resolve("target/saslauth.jar").toString(), "--passwd-file", users.toString(),
                "--failure-delay", "0").redirectError(dir.resolve("memory.stderr").toFile()).start();
        p.getOutputStream().write(("VERSION\t1\t0\nCPID\t1\n" + plain("192.0.2.99", "alice", "pw-alice") + "\n")
                .getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertTrue(out.contains("\nOK\t"), out);
        String loaded = Files.readString(classes);
        assertTrue(loaded.contains(" org.saslauth.penalty.MemoryStore "), "the log lists classes");
        assertFalse(loaded.contains(" redis.clients."), "a Redis class loaded");
        assertFalse(loaded.contains(" org.saslauth.penalty.Redis"), "a Redis class loaded");
    }

    /**
     * examples/fail2ban-filter.conf with the real fail2ban-regex on a helper's log: the ban line
     * is matched as one more failure of the banned address, and a user name holding
     * "rip=ADDRESS" is no address.
     */
    @Test
    @Order(10)
    void theFail2banFilterMatchesTheBanLine() throws Exception {
        Path regex = Path.of("/usr/bin/fail2ban-regex");
        org.saslauth.servers.ServerProcess.require(Files.isExecutable(regex), "fail2ban-regex (package fail2ban)");
        Path log = dir.resolve("fail2ban.log");
        StringBuilder session = new StringBuilder("VERSION\t1\t0\nCPID\t1\n");
        session.append(plain("192.0.2.21", "x rip=203.0.113.5 for 1 s:", "nope")).append('\n');
        session.append(plain("192.0.2.21", "u1", "nope")).append('\n');
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                DaemonProcess.projectDir().resolve("target/saslauth.jar").toString(), "--passwd-file", users.toString(),
                "--failure-delay", "0", "--penalty-ban-users", "2", "--log-file", log.toString())
                .redirectError(dir.resolve("fail2ban.stderr").toFile()).start();
        p.getOutputStream().write(session.toString().getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertTrue(Files.readString(log).contains("penalty: banned rip=192.0.2.21 for 900 s"), Files.readString(log));
        Path filter = DaemonProcess.projectDir().resolve("examples/fail2ban-filter.conf").toAbsolutePath();
        Process f = new ProcessBuilder(regex.toString(), "-o", "ip", log.toString(), filter.toString())
                .redirectErrorStream(true).start();
        String out = new String(f.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(f.waitFor(60, TimeUnit.SECONDS));
        assertEquals(List.of("192.0.2.21", "192.0.2.21", "192.0.2.21"), List.of(out.strip().split("\n")),
                "two failures and the ban: " + out + "\n" + Files.readString(log));
    }

    /**
     * Logins in flight at once go to Redis together: the right passwords of one round trip share
     * one MGET, so Redis sees far fewer requests than logins, and every login is answered.
     */
    @Test
    @Order(11)
    void loginsInFlightShareARoundTrip() throws Exception {
        redis.cli("CONFIG", "RESETSTAT");
        int n = 100; // the default max-auth-rate of a connection, a second
        AuthClient c = clients.get(1);
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < n; i++) { // each from its own address, as many SMTP clients would be
            lines.append(plain("100.64." + (i / 200) + "." + (i % 200 + 1), "u" + (i % 10), "pw-u" + (i % 10)));
            lines.append(i + 1 < n ? "\n" : "");
        }
        c.send(lines.toString());
        int ok = 0;
        for (int i = 0; i < n; i++) {
            String reply = c.readLine();
            assertTrue(reply != null && (reply.startsWith("OK\t") || reply.startsWith("FAIL\t")), String.valueOf(reply));
            ok += reply.startsWith("OK\t") ? 1 : 0;
        }
        assertEquals(n, ok, "every right password answered OK");
        String stats = redis.cli("INFO", "commandstats");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("cmdstat_mget:calls=(\\d+)").matcher(stats);
        assertTrue(m.find(), stats);
        long calls = Long.parseLong(m.group(1));
        assertTrue(calls >= 1 && calls <= n / 2, calls + " MGETs for " + n + " logins:\n" + stats);
        assertFalse(stats.contains("cmdstat_evalsha"), "no script for a right password:\n" + stats);
    }

    /**
     * A network known through a spawned helper, whose one login is its last: its write reaches
     * Redis, and the owner logs in from there while her account is protected. Before, a helper
     * kept that write for its next round trip, which never came.
     */
    @Test
    @Order(12)
    void aNetworkKnownThroughAHelperKeepsTheOwnerIn() throws Exception {
        assertEquals("OK", spawned("10.77.0.5", "c38", "pw-c38"), "the owner, through a helper");
        for (int i = 0; i < 25; i++) {
            assertEquals("FAIL", login("10.88." + i + ".1", "c38", "guess-" + i));
        }
        assertEquals("FAIL", on(1, "10.99.0.1", "c38", "pw-c38"), "protected: a right password from a new network");
        assertEquals("OK", on(0, "10.77.0.9", "c38", "pw-c38"), "the owner's network, known through the helper");
        Path config = dir.resolve("owner.properties");
        Files.writeString(config, "passwd-file = " + users + "\npenalty-store = " + redis.url()
                + "\npenalty-store-password-file = " + redis.passwordFile() + "\n");
        assertEquals("cleared user \"c38\"", penalty("clear", "--config", config.toString(), "--user", "c38").strip());
    }
    /**
     * Logins in flight together that share keys: a banned address, a protected user from her
     * known network and from a new one, and the right passwords of others from one address. Each
     * key is asked once in the round trip, and a network told to Redis lately not at all: every
     * login still gets its own answer.
     */
    @Test
    @Order(13)
    void loginsInFlightSharingKeysGetTheirOwnAnswers() throws Exception {
        AuthClient c = clients.get(2);
        assertEquals("OK", on(2, "10.60.0.5", "c30", "pw-c30"), "the owner, from her network");
        String banned = "100.70.0.1";
        for (int i = 0; i < 10; i++) { // banned and protected by the other two: this one asks Redis
            assertEquals("FAIL", on(i % 2, banned, "c" + i, "stuffed-" + i));
        }
        for (int i = 0; i < 25; i++) {
            assertEquals("FAIL", on(i % 2, "10.62." + i + ".1", "c30", "guess-" + i));
        }
        java.util.Map<String, String> expected = new java.util.LinkedHashMap<>();
        StringBuilder lines = new StringBuilder();
        for (int round = 0; round < 8; round++) {
            String[][] batch = {
                {banned, "c31", "pw-c31", "FAIL"},
                {"10.60.0.9", "c30", "pw-c30", "OK"},
                {banned, "c32", "pw-c32", "FAIL"},
                {"10.61.0.1", "c30", "pw-c30", "FAIL"},
                {"100.71.0.1", "c33", "pw-c33", "OK"},
                {"100.71.0.1", "c34", "pw-c34", "OK"},
                {"10.60.0.9", "c30", "pw-c30", "OK"},
                {banned, "c33", "pw-c33", "FAIL"},
            };
            for (String[] b : batch) {
                lines.append(lines.length() == 0 ? "" : "\n").append(plain(b[0], b[1], b[2]));
                expected.put(Integer.toString(ids), b[3] + " " + b[1] + " from " + b[0]);
            }
        }
        c.send(lines.toString());
        java.util.Map<String, String> got = new java.util.LinkedHashMap<>();
        for (int i = 0; i < expected.size(); i++) {
            String reply = c.readLine();
            assertTrue(reply != null && (reply.startsWith("OK\t") || reply.startsWith("FAIL\t")), String.valueOf(reply));
            String id = reply.split("\t")[1];
            assertTrue(expected.containsKey(id), "a reply to no login sent: " + reply);
            got.put(id, (reply.startsWith("OK") ? "OK" : "FAIL") + expected.get(id).substring(expected.get(id).indexOf(' ')));
        }
        assertEquals(expected, got);
    }
    /**
     * Redis forgot the script (SCRIPT FLUSH, as after a restart that kept its keys): a right
     * password from an address banned by another server, the one login of its round trip, is
     * answered FAIL from the script loaded again, and Redis is not taken for gone. Before, the
     * second round trip's NOSCRIPT marked Redis down, with a line in the log, until a wrong
     * password came.
     */
    @Test
    @Order(14)
    void aForgottenScriptIsLoadedAgainForARightPassword() throws Exception {
        String stuffer = "100.72.0.1";
        for (int i = 0; i < 10; i++) {
            assertEquals("FAIL", on(0, stuffer, "u" + (50 + i), "stuffed-" + i));
        }
        assertEquals("FAIL", on(1, "100.74.0.1", "u62", "typo"), "daemon 1 has loaded the script");
        DaemonProcess d = daemons.get(1);
        long gone = d.count("does not answer");
        redis.cli("SCRIPT", "FLUSH");
        assertEquals("FAIL", on(1, stuffer, "u60", "pw-u60"), "banned, by the script loaded again");
        assertEquals("OK", on(1, "100.73.0.1", "u61", "pw-u61"));
        assertEquals(0, awaitCount(d, "does not answer", gone), "Redis taken for gone\n" + d.logText());
    }
}
