package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.saslauth.e2e.SmtpClient.base64;
import static org.saslauth.e2e.SmtpClient.plain;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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

/**
 * The real Postfix smtpd asking one {@code saslauth daemon} on a socket
 * ({@code smtpd_sasl_path = /path/to/socket}), with no spawn service in between. The daemon
 * starts first: an smtpd that finds no socket at its start exits, and master then throttles
 * the service for a minute.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PostfixDaemonIT {

    private static final Duration IO_TIMEOUT = Duration.ofSeconds(15);
    private static final Path USERS = DaemonProcess.projectDir().resolve("examples/users.passwd");

    private static PostfixInstance postfix;
    private static DaemonProcess daemon;
    private static Path daemonDir;
    private static Path socket;
    private static boolean killed;

    @BeforeAll
    static void start() throws IOException {
        PostfixInstance.requirePostfix();
        daemonDir = Files.createTempDirectory("saslauth-postfix-daemon-");
        Files.setPosixFilePermissions(daemonDir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        socket = daemonDir.resolve("saslauth-daemon");
        startDaemon();
        postfix = PostfixInstance.start(DaemonProcess.projectDir(), socket.toString());
    }

    private static void startDaemon() throws IOException {
        if (DaemonProcess.unitMode()) { // the installed units' socket and ExecStart line, as user saslauth
            Path users = daemonDir.resolve("users.passwd");
            Files.copy(USERS, users, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(users, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            daemon = DaemonProcess.startAsUnit(daemonDir, socket, "--passwd-file", users.toString(), "--failure-delay", "1s");
            return;
        }
        daemon = DaemonProcess.start(daemonDir, socket, "--passwd-file", USERS.toString(), "--failure-delay", "1s",
                "--listen", "unix:" + socket, "--socket-group", "postfix", "--socket-mode", "0660");
    }

    @AfterAll
    static void stop() throws InterruptedException {
        try {
            if (daemon != null && daemon.process.isAlive()) {
                assertEquals(0, daemon.terminate(Duration.ofSeconds(10)));
            }
        } finally {
            if (postfix != null) {
                postfix.close();
            }
        }
    }

    @Order(1)
    @Test
    void plainAndLoginRightAndWrong() throws IOException {
        try (SmtpClient smtp = session()) {
            Reply wrong = smtp.send("AUTH PLAIN " + plain("alice", "not-her-password"));
            assertEquals(535, wrong.code(), context(wrong));
            assertTrue(wrong.elapsed().toMillis() >= 900, "the failure delay: " + wrong);
            Reply ok = smtp.send("AUTH PLAIN " + plain("alice", "alice-password"));
            assertEquals(235, ok.code(), context(ok));
        }
        try (SmtpClient smtp = session()) {
            assertEquals(334, smtp.send("AUTH LOGIN").code());
            assertEquals(334, smtp.send(base64("carol")).code());
            Reply ok = smtp.send(base64("carol-password"));
            assertEquals(235, ok.code(), context(ok));
        }
        DaemonIT.awaitLog(daemon, "auth ok: rip=127.0.0.1 mech=LOGIN user=\"carol\"");
    }

    /** Two sessions at once are two smtpd processes: the penalty of one daemon sees them both. */
    @Order(2)
    @Test
    void thePenaltyFollowsAClientAcrossSmtpdProcesses() throws IOException {
        try (SmtpClient a = session(); SmtpClient b = session()) {
            for (String guess : List.of("guess-1", "guess-2")) {
                Reply r = a.send("AUTH PLAIN " + plain("alice", guess));
                assertEquals(535, r.code(), context(r));
                assertTrue(r.elapsed().toMillis() < 1900, "no penalty yet: " + r);
            }
            Reply third = b.send("AUTH PLAIN " + plain("alice", "guess-3"));
            assertEquals(535, third.code(), context(third));
            assertTrue(third.elapsed().toMillis() >= 1900,
                    "the third failure from 127.0.0.1, in another smtpd, waits a second more: " + third);
            Reply ok = a.send("AUTH PLAIN " + plain("alice", "alice-password"));
            assertEquals(235, ok.code(), context(ok)); // and forgives the address
        }
        long smtpds = postfix.maillog().lines().filter(l -> l.contains("SASL PLAIN authentication failed"))
                .map(l -> l.replaceAll(".*postfix/smtpd\\[(\\d+)\\].*", "$1")).distinct().count();
        assertTrue(smtpds >= 2, "the failures came through " + smtpds + " smtpd process(es)");
    }

    @Order(3)
    @Test
    void aHundredSmtpSessionsAtOnce() throws Exception {
        int n = 100;
        long oksBefore = settledCount("auth ok: "); // the last test's line may still be on its way
        CyclicBarrier together = new CyclicBarrier(n);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Integer>> codes = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String user = List.of("alice", "bob", "carol").get(i % 3);
                codes.add(pool.submit(() -> {
                    try (SmtpClient smtp = session()) {
                        together.await(60, TimeUnit.SECONDS);
                        return smtp.send("AUTH PLAIN " + plain(user, user + "-password")).code();
                    }
                }));
            }
            for (Future<Integer> f : codes) {
                assertEquals(235, f.get(90, TimeUnit.SECONDS), context(null));
            }
        } finally {
            pool.shutdownNow();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (daemon.count("auth ok: ") < oksBefore + n && System.nanoTime() < deadline) {
            Thread.sleep(20); // log lines reach the file up to a flush interval after the reply
        }
        assertEquals(oksBefore + n, settledCount("auth ok: "));
    }

    @Order(4)
    @Test
    void sigtermDuringAnExchangeAnswersItAndSmtpdReconnectsToTheNextDaemon() throws Exception {
        try (SmtpClient smtp = session()) {
            CompletableFuture<Reply> reply = CompletableFuture.supplyAsync(() -> {
                try {
                    return smtp.send("AUTH PLAIN " + plain("bob", "wrong"));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            DaemonIT.awaitLog(daemon, "auth failed: rip=127.0.0.1 mech=PLAIN user=\"bob\"");
            daemon.process.destroy(); // SIGTERM while the FAIL is held back
            Reply r = reply.get(10, TimeUnit.SECONDS);
            assertEquals(535, r.code(), context(r));
            assertTrue(daemon.process.waitFor(3, TimeUnit.SECONDS), "exit within the failure delay plus a second");
            assertEquals(0, daemon.process.exitValue());
            // the daemon's own socket file goes with it; the socket unit's stays, systemd's
            assertTrue(DaemonProcess.unitMode() || !Files.exists(socket), "the socket file is removed");
            startDaemon();
            Reply ok = smtp.send("AUTH PLAIN " + plain("bob", "bob-password"));
            assertEquals(235, ok.code(), context(ok));
        }
    }

    @Order(5)
    @Test
    void sigkillGives454ThenSmtpdRecoversWhenTheDaemonIsBack() throws Exception {
        try (SmtpClient open = session()) {
            killed = true;
            daemon.process.destroyForcibly(); // SIGKILL: the socket file stays behind, stale
            assertTrue(daemon.process.waitFor(5, TimeUnit.SECONDS));
            Reply lost = open.send("AUTH PLAIN " + plain("alice", "alice-password"));
            assertEquals(454, lost.code(), context(lost));
            assertTrue(Files.exists(socket), "a killed daemon leaves its socket file");
            startDaemon(); // replaces the stale socket file
            Reply ok = open.send("AUTH PLAIN " + plain("alice", "alice-password"));
            assertEquals(235, ok.code(), context(ok));
        }
        try (SmtpClient fresh = session()) {
            Reply ok = fresh.send("AUTH PLAIN " + plain("carol", "carol-password"));
            assertEquals(235, ok.code(), context(ok));
        }
    }

    @Order(6)
    @Test
    void postfixLogsNoProtocolTrouble() {
        List<Pattern> expected = new ArrayList<>(List.of(
                Pattern.compile("warning: [^:]+\\[127\\.0\\.0\\.1\\]: SASL (PLAIN|LOGIN) authentication failed: .*")));
        if (killed) {
            // The connection lost to the killed daemon, and its socket refusing until it is back.
            expected.add(Pattern.compile("warning: SASL: Connect to Dovecot auth socket '[^']*saslauth-daemon' failed: Connection refused"));
            expected.add(Pattern.compile("warning: [^:]+\\[127\\.0\\.0\\.1\\]: SASL PLAIN authentication failed: "
                    + "(Connection lost to authentication server|.*)"));
        }
        List<String> trouble = postfix.maillog().lines()
                .filter(l -> l.matches(".*\\b(warning|error|fatal|panic):.*"))
                .filter(l -> expected.stream().noneMatch(p -> p.matcher(l).find()))
                .limit(10)
                .toList();
        assertEquals(List.of(), trouble, () -> "unexpected complaints in Postfix's log\n" + postfix.maillogTail(60));
    }

    /** The count of log lines with {@code text} once it stays the same for 200 ms. */
    private static long settledCount(String text) throws InterruptedException {
        long last = -1;
        long now = daemon.count(text);
        while (now != last) {
            Thread.sleep(200);
            last = now;
            now = daemon.count(text);
        }
        return now;
    }

    private static SmtpClient session() throws IOException {
        SmtpClient smtp = new SmtpClient(postfix.daemonPort(), IO_TIMEOUT);
        try {
            assertEquals(220, smtp.greeting().code(), context(smtp.greeting()));
            Reply ehlo = smtp.send("EHLO client.saslauth.test");
            assertEquals(List.of("PLAIN", "LOGIN"), SmtpClient.authMechanisms(ehlo), context(ehlo));
        } catch (IOException | RuntimeException | Error e) {
            smtp.close();
            throw e;
        }
        return smtp;
    }

    private static java.util.function.Supplier<String> context(Object what) {
        return () -> what + "\n" + postfix.maillogTail(30) + "\n" + PostfixInstance.tail(daemon.logText(), 30);
    }
}
