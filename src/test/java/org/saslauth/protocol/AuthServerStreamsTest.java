package org.saslauth.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Mechanisms;
import org.saslauth.store.UserNameFormat;

/** The peer going away: stdin closing mid-exchange, stdout closed under the server. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class AuthServerStreamsTest {

    private static final String HELLO = "VERSION\t1\t0\nCPID\t42\n";

    private static AuthServer server(Duration failureDelay) {
        return new AuthServer(settings(failureDelay));
    }

    private static Settings settings(Duration failureDelay) {
        return new Settings(Mechanisms.parse("PLAIN,LOGIN"),
                new Credentials(TestServer.STORE, UserNameFormat.AS_IS), failureDelay, 16);
    }

    /** A server on a clock that moves only when the test says, checking passwords on the reading thread. */
    private static AuthServer server(Duration failureDelay, ManualScheduler clock) {
        return new AuthServer(new AuthService(settings(failureDelay), clock, Runnable::run));
    }

    @Test
    void endOfInputWithALoginWaitingForItsPasswordEndsPromptly() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ManualScheduler clock = new ManualScheduler(); // never moved: serve must not wait for it

        int status = server(Duration.ofSeconds(5), clock).serve(input(HELLO + "AUTH\t1\tLOGIN\tservice=smtp\tresp="
                + TestServer.b64("alice") + "\n"), out);

        assertEquals(0, status);
        assertEquals(java.util.List.of(), clock.pendingMillis(), "nothing held back to wait for");
        assertTrue(out.toString(StandardCharsets.UTF_8).endsWith("DONE\nCONT\t1\tUGFzc3dvcmQ6\n"));
    }

    @Test
    void endOfInputInTheMiddleOfALine() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();

        int status = server(Duration.ZERO).serve(input(HELLO + "AUTH\t1\tLOGIN\nCONT\t1\tYWxp"), out);

        assertEquals(0, status);
        assertTrue(out.toString(StandardCharsets.UTF_8).endsWith("DONE\nCONT\t1\tVXNlcm5hbWU6\nCONT\t1\tUGFzc3dvcmQ6\n"));
    }

    /** A failure held back by the delay still goes out after end of input, then serve returns. */
    @Test
    void endOfInputWithAFailureHeldBack() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ManualScheduler clock = new ManualScheduler();
        CompletableFuture<Integer> served = CompletableFuture.supplyAsync(() -> {
            try {
                return server(Duration.ofMillis(300), clock).serve(input(HELLO + "AUTH\t1\tPLAIN\tresp="
                        + TestServer.b64("\0alice\0wrong") + "\n"), out);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(8); // a guard, not a measure
        while (clock.pendingMillis().size() < 2 && System.nanoTime() < giveUp) { // the FAIL, and the drain's limit
            Thread.onSpinWait();
        }
        assertEquals(300L, clock.pendingMillis().get(0), "the FAIL held for the delay");
        clock.advanceMillis(299);
        assertTrue(!served.isDone(), "serve waits for it");
        clock.advanceMillis(1);
        int status = served.get(8, TimeUnit.SECONDS);

        assertEquals(0, status);
        assertTrue(out.toString(StandardCharsets.UTF_8).endsWith("FAIL\t1\tuser=alice\treason=Authentication failed\n"));
    }

    /** Like smtpd: send the AUTH, read the challenge, then go away. */
    @Test
    void peerClosesItsEndWhileAChallengeIsOpen() throws Exception {
        PipedOutputStream client = new PipedOutputStream();
        PipedInputStream serverIn = new PipedInputStream(client, 65536);
        PipedInputStream clientIn = new PipedInputStream(65536);
        PipedOutputStream serverOut = new PipedOutputStream(clientIn);
        CompletableFuture<Integer> served = CompletableFuture.supplyAsync(() -> {
            try {
                return server(Duration.ofSeconds(5)).serve(serverIn, serverOut);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        BufferedReader reader = new BufferedReader(new InputStreamReader(clientIn, StandardCharsets.UTF_8));
        client.write((HELLO + "AUTH\t7\tLOGIN\tservice=smtp\n").getBytes(StandardCharsets.UTF_8));
        client.flush();
        String line;
        while (!(line = reader.readLine()).startsWith("CONT")) {
            // handshake
        }
        assertEquals("CONT\t7\tVXNlcm5hbWU6", line);

        client.close();

        assertEquals(0, served.get(3, TimeUnit.SECONDS));
    }

    @Test
    void outputClosedFromTheStartWithEndlessInput() throws Exception {
        int status = server(Duration.ZERO).serve(endless(), new ClosedOutput(0));

        assertEquals(0, status);
    }

    @Test
    void outputClosedInTheMiddleWithFailuresHeldBack() throws Exception {
        ClosedOutput out = new ClosedOutput(300);

        int status = server(Duration.ofMillis(20)).serve(endless(), out);

        assertEquals(0, status);
        assertTrue(out.attempts > 1, "no write after the handshake");
    }

    /** A read error is the one failure serve reports, as documented. */
    @Test
    void aReadErrorIsThrown() {
        InputStream broken = new InputStream() {
            private final InputStream first = input(HELLO + "AUTH\t1\tLOGIN\n");

            @Override
            public int read() throws IOException {
                int b = first.read();
                if (b < 0) {
                    throw new IOException("connection reset");
                }
                return b;
            }
        };

        assertThrows(IOException.class, () -> server(Duration.ofMillis(10)).serve(broken, new ByteArrayOutputStream()));
    }

    private static InputStream input(String text) {
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Handshake, then wrong logins forever. */
    private static InputStream endless() {
        byte[] hello = HELLO.getBytes(StandardCharsets.UTF_8);
        return new InputStream() {
            private long n;
            private byte[] line = hello;
            private int pos;

            @Override
            public int read() {
                if (pos == line.length) {
                    n++;
                    line = ("AUTH\t" + (n % 4_000_000_000L) + "\tPLAIN\tresp=" + TestServer.b64("\0alice\0wrong") + "\n")
                            .getBytes(StandardCharsets.UTF_8);
                    pos = 0;
                }
                return line[pos++];
            }
        };
    }

    /** A socket whose peer is gone after {@code okBytes}: every later write fails. */
    private static final class ClosedOutput extends OutputStream {
        private final int okBytes;
        private int written;
        volatile int attempts;

        ClosedOutput(int okBytes) {
            this.okBytes = okBytes;
        }

        @Override
        public synchronized void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            attempts++;
            if (written + len > okBytes) {
                throw new IOException("Broken pipe");
            }
            written += len;
        }
    }
}
