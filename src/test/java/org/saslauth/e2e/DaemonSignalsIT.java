package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.saslauth.e2e.AuthClient.authPlain;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** SIGTERM and SIGHUP sent to a daemon while it works. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DaemonSignalsIT {

    /**
     * SIGTERM while password checks run (a checkpassword program that takes 1.5 s): the socket
     * goes at once, and each check still gets its reply, right and wrong, before the exit with 0.
     */
    @Test
    void sigtermWhileChecksRunAnswersThemThenExits0() throws Exception {
        Path dir = Files.createTempDirectory("saslauth-signals-it-");
        Path socket = dir.resolve("auth");
        Path program = dir.resolve("slow-check");
        Files.writeString(program, bashCheck(dir));
        Files.setPosixFilePermissions(program, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (DaemonProcess d = DaemonProcess.start(dir, socket, "--passdb", "checkpassword",
                "--checkpassword-program", program.toString(), "--failure-delay", "0", "--auth-penalty", "false",
                "--listen", "unix:" + socket)) {
            try (AuthClient right = AuthClient.unix(socket); AuthClient wrong = AuthClient.unix(socket)) {
                right.handshake();
                wrong.handshake();
                right.send(authPlain(21, "alice", "alice-password"));
                wrong.send(authPlain(22, "mallory", "guess"));
                awaitFile(dir.resolve("started-alice"));
                awaitFile(dir.resolve("started-mallory"));
                long term = System.nanoTime();
                d.process.destroy(); // SIGTERM while both checks run
                assertEquals("OK\t21\tuser=alice", right.readLine(), "the check in flight is answered");
                assertEquals("FAIL\t22\tuser=mallory\treason=Authentication failed", wrong.readLine());
                assertEquals(null, right.readLine(), "then the connection ends");
                assertEquals(null, wrong.readLine());
                assertTrue(d.process.waitFor(10, TimeUnit.SECONDS), "exit after the answers");
                assertEquals(0, d.process.exitValue(), d.logText());
                long ms = (System.nanoTime() - term) / 1_000_000;
                assertTrue(ms < 8000, "exit " + ms + " ms after SIGTERM");
            }
            assertTrue(d.count("SIGTERM: stopping") == 1, d.logText());
            assertTrue(d.count("stopped: 2 connection(s) open at the stop finished") == 1, d.logText());
        }
        assertTrue(Files.notExists(socket), "socket file removed");
    }

    /** The checkpassword program of the SIGTERM test, in bash for its read -d ''. */
    private static String bashCheck(Path dir) {
        return String.join("\n",
                "#!/bin/bash",
                "# checkpassword: user NUL password NUL on descriptor 3; says it started, then takes 1.5 s",
                "IFS= read -r -d '' user <&3 || exit 2",
                "IFS= read -r -d '' pass <&3 || exit 2",
                "touch '" + dir + "/started-'\"$user\"",
                "sleep 1.5",
                "[ \"$user\" = alice ] && [ \"$pass\" = alice-password ] && exec \"$@\"",
                "exit 1",
                "");
    }

    /**
     * SIGHUP again and again while four connections log in without pause: each round's passwd
     * file (written in place, its mtime kept fresh so that only the signal reads it) is served
     * at once, a user it drops is refused, and the logins of a user in every version never get
     * a wrong or missing reply. The daemon lives through every SIGHUP.
     */
    @Test
    void sighupWhileLoginsRunReadsTheUsersAndLosesNoReply() throws Exception {
        Path dir = Files.createTempDirectory("saslauth-signals-it-");
        Path socket = dir.resolve("auth");
        Path users = dir.resolve("users.passwd");
        Files.writeString(users, version(0));
        try (DaemonProcess d = DaemonProcess.start(dir, socket, "--passwd-file", users.toString(),
                "--failure-delay", "0", "--auth-penalty", "false", "--max-auth-rate", "0",
                "--listen", "unix:" + socket)) {
            AtomicBoolean running = new AtomicBoolean(true);
            ExecutorService pool = Executors.newFixedThreadPool(5);
            try {
                List<Future<Integer>> load = new ArrayList<>();
                for (int k = 0; k < 4; k++) {
                    int conn = k;
                    load.add(pool.submit(() -> logins(socket, conn, running)));
                }
                // keeps the file's mtime fresh: the daemon's own recheck leaves a file so recent alone
                Future<?> toucher = pool.submit(() -> {
                    while (running.get()) {
                        Files.setLastModifiedTime(users, FileTime.fromMillis(System.currentTimeMillis()));
                        Thread.sleep(100);
                    }
                    return null;
                });
                Thread.sleep(300);
                int rounds = 5;
                for (int i = 1; i <= rounds; i++) {
                    Files.writeString(users, version(i)); // in place, as an editor would
                    hup(d);
                    assertEquals("OK", awaitLogin(socket, "new" + i, "pw" + i),
                            "round " + i + ": the new user after SIGHUP\n" + d.logText());
                    assertEquals("FAIL", login(socket, "new" + (i - 1), "pw" + (i - 1)),
                            "round " + i + ": the user the new version dropped");
                    assertTrue(d.process.isAlive(), "the daemon lives through SIGHUP");
                }
                running.set(false);
                int total = 0;
                for (Future<Integer> f : load) {
                    total += f.get(30, TimeUnit.SECONDS);
                }
                toucher.get(5, TimeUnit.SECONDS);
                assertTrue(total >= 100, "logins during the rounds: " + total);
                assertEquals(rounds, d.count("SIGHUP: reading the users again"), d.logText());
                assertEquals(rounds, d.count("reloaded: "), d.logText());
                assertEquals(0, d.count(" ERROR "), d.logText());
            } finally {
                running.set(false);
                pool.shutdownNow();
            }
            assertEquals(0, d.terminate(Duration.ofSeconds(10)), d.logText());
        }
    }

    /** The passwd file of round {@code i}: carol always, and new{i}. */
    private static String version(int i) {
        return "carol:{PLAIN}carol-password\nnew" + i + ":{PLAIN}pw" + i + "\n";
    }

    /** Logs carol in, 20 pipelined at a time, until told to stop; every reply must be her OK, each once. */
    private static int logins(Path socket, int conn, AtomicBoolean running) throws Exception {
        int done = 0;
        try (AuthClient c = AuthClient.unix(socket)) {
            c.handshake();
            int id = 0;
            while (running.get()) {
                StringBuilder batch = new StringBuilder();
                for (int j = 0; j < 20; j++) {
                    batch.append(authPlain(++id, "carol", "carol-password", "198.51.100." + conn)).append('\n');
                }
                c.sendRaw(batch.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                java.util.Set<String> expected = new java.util.HashSet<>();
                for (int j = id - 19; j <= id; j++) {
                    expected.add("OK\t" + j + "\tuser=carol");
                }
                java.util.Set<String> got = new java.util.HashSet<>();
                for (int j = 0; j < 20; j++) { // checks run side by side: replies in any order
                    got.add(c.readLine());
                }
                assertEquals(expected, got, "connection " + conn + ", logins " + (id - 19) + " to " + id);
                done += 20;
                Thread.sleep(5);
            }
        }
        return done;
    }

    private static void hup(DaemonProcess d) throws Exception {
        Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(d.process.pid()))
                .redirectErrorStream(true).start();
        assertTrue(kill.waitFor(5, TimeUnit.SECONDS));
        assertEquals(0, kill.exitValue());
    }

    /** Tries the login until it passes, for 5 s at most (the signal is handled on its own thread). */
    private static String awaitLogin(Path socket, String user, String password) throws IOException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        String r;
        do {
            r = login(socket, user, password);
        } while (!r.equals("OK") && System.nanoTime() < deadline && sleep());
        return r;
    }

    private static String login(Path socket, String user, String password) throws IOException {
        try (AuthClient c = AuthClient.unix(socket)) {
            c.handshake();
            c.send(authPlain(1, user, password));
            String line = c.readLine();
            return line == null ? "closed" : line.split("\t")[0];
        }
    }

    private static boolean sleep() {
        PostfixInstance.sleep(50);
        return true;
    }

    private static void awaitFile(Path file) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!Files.exists(file) && System.nanoTime() < deadline) {
            PostfixInstance.sleep(10);
        }
        assertTrue(Files.exists(file), file + ": the check did not start");
    }
}
