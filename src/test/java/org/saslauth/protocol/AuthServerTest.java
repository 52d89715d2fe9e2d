package org.saslauth.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Mechanisms;
import org.saslauth.store.CredentialStore.Verdict;
import org.saslauth.store.UserNameFormat;

/** The engine's timing and limits, driven through pipes as Postfix drives it through a socket. */
@Timeout(30)
class AuthServerTest {

    static final Credentials ALICE = new Credentials(
            (user, password, slots, deadline) -> !user.equals("alice") ? Verdict.UNKNOWN_USER
                    : new String(password, StandardCharsets.UTF_8).equals("secret") ? Verdict.ACCEPTED
                    : Verdict.WRONG_PASSWORD,
            UserNameFormat.AS_IS);

    static String auth(int id, String rip, String password) {
        return "AUTH\t" + id + "\tPLAIN\tservice=smtp\trip=" + rip + "\tresp="
                + Base64.getEncoder().encodeToString(("\0alice\0" + password).getBytes(StandardCharsets.UTF_8)) + "\n";
    }

    /** A running server with a client end to write to and read from. */
    static final class Connection implements AutoCloseable {
        final PipedOutputStream toServer = new PipedOutputStream();
        final PipedInputStream fromServer = new PipedInputStream(1 << 16);
        final BufferedReader reader;
        final CompletableFuture<Integer> status;

        Connection(Settings settings) throws IOException {
            this(new AuthServer(settings));
        }

        /** A server on a clock moved by hand, checking passwords on the thread that reads. */
        Connection(Settings settings, ManualScheduler clock) throws IOException {
            this(new AuthServer(new AuthService(settings, clock, Runnable::run)));
        }

        private Connection(AuthServer server) throws IOException {
            PipedInputStream serverIn = new PipedInputStream(toServer, 1 << 16);
            PipedOutputStream serverOut = new PipedOutputStream(fromServer);
            reader = new BufferedReader(new InputStreamReader(fromServer, StandardCharsets.UTF_8));
            status = CompletableFuture.supplyAsync(() -> {
                try (serverOut) {
                    return server.serve(serverIn, serverOut);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            while (!reader.readLine().equals("DONE")) {
                // handshake
            }
        }

        void send(String lines) throws IOException {
            toServer.write(lines.getBytes(StandardCharsets.UTF_8));
            toServer.flush();
        }

        String read() throws IOException {
            return reader.readLine();
        }

        /**
         * Reads the reply to the request just sent, moving {@code clock} over the delay it was
         * held back by, and returns that delay in milliseconds (0 for a reply sent at once).
         */
        long delayOf(ManualScheduler clock, List<String> replies) throws IOException {
            long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(20); // a guard, not a measure
            while (System.nanoTime() < giveUp) {
                if (reader.ready()) {
                    replies.add(read());
                    return 0;
                }
                List<Long> held = clock.pendingMillis();
                if (!held.isEmpty()) {
                    clock.advanceMillis(held.get(0));
                    replies.add(read());
                    return held.get(0);
                }
                Thread.onSpinWait();
            }
            throw new AssertionError("no reply and nothing held back");
        }

        @Override
        public void close() throws Exception {
            toServer.close();
            assertEquals(0, status.get(20, TimeUnit.SECONDS));
        }
    }

    /**
     * A check that throws an Error other than running out of memory or stack (a class that
     * cannot be loaded from a jar replaced underneath, a native library's initialisation that
     * failed) gets a temporary failure, and the connection goes on. Before, the worker died
     * with it and the login was never answered: the helper hung.
     */
    @Test
    void anErrorInACheckIsATemporaryFailureNotALostReply() throws Exception {
        Credentials broken = new Credentials((user, password, slots, deadline) -> {
            if (user.equals("alice")) {
                throw new NoClassDefFoundError("org/bouncycastle/crypto/generators/Argon2BytesGenerator");
            }
            return Verdict.ACCEPTED;
        }, UserNameFormat.AS_IS);
        var settings = new Settings(Mechanisms.parse("PLAIN"), broken, Duration.ZERO, 32);
        try (Connection c = new Connection(settings, new ManualScheduler())) {
            c.send(auth(1, "192.0.2.1", "secret"));
            String reply = c.read();
            assertTrue(reply.startsWith("FAIL\t1\t") && reply.contains("code=temp_fail"), reply);
            c.send("AUTH\t2\tPLAIN\tservice=smtp\tresp="
                    + Base64.getEncoder().encodeToString("\0bob\0pw".getBytes(StandardCharsets.UTF_8)) + "\n");
            assertEquals("OK\t2\tuser=bob", c.read());
        }
    }

    @Test
    void failureDelayHoldsOnlyTheFailedExchange() throws Exception {
        var settings = new Settings(Mechanisms.parse("PLAIN"), ALICE, Duration.ofMillis(400), 32);
        ManualScheduler clock = new ManualScheduler();
        try (Connection c = new Connection(settings, clock)) {
            c.send(auth(1, "192.0.2.1", "wrong") + auth(2, "192.0.2.1", "secret"));
            assertEquals("OK\t2\tuser=alice", c.read(), "OK not held back: out with the clock standing still");
            assertEquals(List.of(400L), clock.pendingMillis(), "FAIL held for the delay");
            clock.advanceMillis(399);
            assertFalse(c.reader.ready(), "not before its time");
            clock.advanceMillis(1);
            assertEquals("FAIL\t1\tuser=alice\treason=Authentication failed", c.read());
        }
    }

    @Test
    void delayedFailuresStillGoOutAfterEndOfInput() throws Exception {
        var settings = new Settings(Mechanisms.parse("PLAIN"), ALICE, Duration.ofMillis(200), 32);
        ManualScheduler clock = new ManualScheduler();
        var out = new java.io.ByteArrayOutputStream();
        var server = new AuthServer(new AuthService(settings, clock, Runnable::run));
        CompletableFuture<Integer> status = CompletableFuture.supplyAsync(() -> {
            try {
                return server.serve(new ByteArrayInputStream(
                        auth(7, "192.0.2.1", "wrong").getBytes(StandardCharsets.UTF_8)), out);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(20); // a guard, not a measure
        while (clock.pendingMillis().size() < 2 && System.nanoTime() < giveUp) { // the FAIL, and the drain's limit
            Thread.onSpinWait();
        }
        assertEquals(200L, clock.pendingMillis().get(0));
        assertFalse(status.isDone(), "the end of input waits for the held FAIL");
        clock.advanceMillis(200);
        assertEquals(0, status.get(20, TimeUnit.SECONDS));
        assertTrue(out.toString(StandardCharsets.UTF_8).endsWith("FAIL\t7\tuser=alice\treason=Authentication failed\n"));
    }

    @Test
    void penaltyGrowsPerAddressButNotForARepeatedPassword() throws Exception {
        var settings = new Settings(Mechanisms.parse("PLAIN"), ALICE, Duration.ZERO, 32, true, 0);
        ManualScheduler clock = new ManualScheduler();
        try (Connection c = new Connection(settings, clock)) {
            List<Long> waits = new ArrayList<>();
            List<String> replies = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                c.send(auth(10 + i, "192.0.2.66", "guess" + i));
                waits.add(c.delayOf(clock, replies));
                assertTrue(replies.get(i).startsWith("FAIL\t" + (10 + i)), replies.toString());
            }
            assertEquals(List.of(0L, 0L, 1000L, 2000L), waits, "first two free, then 1 s, 2 s");
            c.send(auth(20, "192.0.2.66", "guess3")); // the same wrong password again
            assertEquals(2000L, c.delayOf(clock, replies), "a repeat does not grow it");
            c.send(auth(21, "192.0.2.67", "other address"));
            assertEquals(0L, c.delayOf(clock, replies), "another address is not punished");
        }
    }

    @Test
    void rateLimitAnswersTheExcessWithATemporaryFailure() throws Exception {
        var settings = new Settings(Mechanisms.parse("PLAIN"), ALICE, Duration.ZERO, 32, false, 5);
        try (Connection c = new Connection(settings)) {
            StringBuilder burst = new StringBuilder();
            for (int i = 0; i < 8; i++) {
                burst.append(auth(100 + i, "192.0.2.1", "secret"));
            }
            c.send(burst.toString());
            int ok = 0;
            List<String> limited = new ArrayList<>();
            for (int i = 0; i < 8; i++) { // the refusals come at once, the logins once checked
                String line = c.read();
                if (line.startsWith("OK\t10")) {
                    ok++;
                } else if (line.matches("FAIL\t10[0-7]\treason=Too many requests\tcode=temp_fail")) {
                    limited.add(line.split("\t")[1]);
                }
            }
            assertEquals(5, ok);
            assertEquals(List.of("105", "106", "107"), limited, "the burst beyond the limit");
        }
    }

    @Test
    void closedOutputEndsTheSessionQuietly() throws Exception {
        var settings = new Settings(Mechanisms.parse("PLAIN"), ALICE, Duration.ZERO, 32);
        OutputStream closed = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("Broken pipe");
            }
        };
        // An endless client: the server must stop on its own once writing fails.
        var endless = new java.io.InputStream() {
            final byte[] line = auth(1, "192.0.2.1", "secret").getBytes(StandardCharsets.UTF_8);
            int pos;

            @Override
            public int read() {
                return line[pos++ % line.length] & 0xff;
            }
        };
        assertEquals(0, new AuthServer(settings).serve(endless, closed));
    }

    /** Nothing is held: the end of input returns with the clock standing still (it never moves here). */
    @Test
    void endOfInputInTheMiddleOfAnExchangeEndsPromptly() throws Exception {
        var settings = new Settings(Mechanisms.parse("PLAIN,LOGIN"), ALICE, Duration.ofSeconds(2), 32);
        ManualScheduler clock = new ManualScheduler();
        var out = new java.io.ByteArrayOutputStream();
        int status = new AuthServer(new AuthService(settings, clock, Runnable::run)).serve(new ByteArrayInputStream(
                "VERSION\t1\t0\nAUTH\t1\tLOGIN\tservice=smtp\nCONT\t1\tYWxpY2U=\n".getBytes(StandardCharsets.UTF_8)), out);
        assertEquals(0, status);
        assertTrue(out.toString(StandardCharsets.UTF_8).endsWith("CONT\t1\tUGFzc3dvcmQ6\n"));
        assertEquals(List.of(), clock.pendingMillis(), "no failure delay to wait for");
    }

    /**
     * A FAIL held back by the failure delay is its id's one final reply: a CONT for that id in
     * the meantime gets none of its own, and an AUTH reusing the id closes the connection, as
     * Dovecot does (issue 10, finding 4: it used to get a FAIL of its own, a second reply).
     */
    @Test
    void anIdWhoseFailureIsDelayedGetsNoSecondReply() throws Exception {
        var settings = new Settings(Mechanisms.parse("PLAIN"), ALICE, Duration.ofMillis(300), 32);
        try (Connection c = new Connection(settings)) {
            c.send(auth(1, "192.0.2.1", "wrong") + "CONT\t1\tAGFsaWNlAHNlY3JldA==\n" + auth(1, "192.0.2.1", "secret")
                    + auth(2, "192.0.2.1", "secret"));
            assertEquals("FAIL\t1\tuser=alice\treason=Authentication failed", c.read());
            assertEquals(null, c.read(), "nothing else, and the line after the reuse is never read");
        }
    }

    @Test
    void anIdIsFreeAgainOnceItsFailureIsOut() throws Exception {
        var settings = new Settings(Mechanisms.parse("PLAIN"), ALICE, Duration.ofMillis(100), 32);
        try (Connection c = new Connection(settings)) {
            c.send(auth(1, "192.0.2.1", "wrong"));
            assertEquals("FAIL\t1\tuser=alice\treason=Authentication failed", c.read());
            c.send(auth(1, "192.0.2.1", "secret"));
            assertEquals("OK\t1\tuser=alice", c.read());
        }
    }

    /** A mangled line may hold credentials: only its first word reaches the log. */
    @Test
    void unknownLinesAreLoggedByTheirFirstWordOnly() throws Exception {
        var settings = new Settings(Mechanisms.parse("PLAIN"), ALICE, Duration.ZERO, 32);
        String secret = "AGFsaWNlAHNlY3JldA==";
        var run = CapturedLog.capture(() -> new AuthServer(settings).serve(new ByteArrayInputStream(
                ("AUHT\t1\tPLAIN\tresp=" + secret + "\nAUTH\t" + secret + "\tPLAIN\n").getBytes(StandardCharsets.UTF_8)),
                new java.io.ByteArrayOutputStream()));
        String log = run.log().raw();
        assertTrue(log.contains("ignoring unknown command AUHT ("), log);
        assertTrue(log.contains("invalid id (20 bytes)"), log);
        assertTrue(!log.contains("AGFsaWNl"), log);
    }

    /**
     * Issue 10, finding 5: a reply is flushed before the reader waits for more input, not when
     * the next line is complete. {@code OK 1} used to wait for the rest of line 2.
     */
    @Test
    void aReplyDoesNotWaitForTheNextLineToComplete() throws Exception {
        var settings = new Settings(Mechanisms.parse("PLAIN"), ALICE, Duration.ZERO, 32);
        try (Connection c = new Connection(settings)) {
            // Every read on one thread that lives through the test: a PipedInputStream whose last
            // reader thread has ended makes the server's next write fail ("Read end dead").
            java.util.concurrent.ExecutorService reader = java.util.concurrent.Executors.newSingleThreadExecutor();
            try {
                c.send(auth(1, "192.0.2.1", "secret") + "AUTH\t2\tPL");
                assertEquals("OK\t1\tuser=alice", reader.submit(c::read).get(5, TimeUnit.SECONDS));
                c.send("AIN\tservice=smtp\n");
                assertEquals("CONT\t2\t", reader.submit(c::read).get(20, TimeUnit.SECONDS));
            } finally {
                reader.shutdownNow();
            }
        }
    }
}
