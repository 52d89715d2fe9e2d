package org.saslauth.daemon;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.saslauth.protocol.Limits;
import org.saslauth.protocol.ManualScheduler;

/**
 * The connection layer alone, with a recording handler over a real UNIX socket, on a clock moved
 * by hand: the handshake timeout and the drain fall due when the test says so.
 */
@ExtendWith(LogToFile.class)
@Timeout(30)
class ConnectionServerTest {

    @TempDir
    Path dir;

    private ConnectionServer server;
    private final ManualScheduler clock = new ManualScheduler();
    private final List<SocketChannel> clients = new ArrayList<>();

    /** What the handler saw: "open", "line:TEXT", "overflow:HEAD", "closed". */
    private final BlockingQueue<String> events = new LinkedBlockingQueue<>();
    private final AtomicInteger opened = new AtomicInteger();

    /**
     * Echoes every line back as "echo:LINE"; "close" closes; "handshake" ends the handshake;
     * "linger" keeps the connection open after the end of input, until "close" would have come.
     */
    private final ConnectionHandler echo = (out, peer) -> {
        opened.incrementAndGet();
        events.add("open");
        return new Session() {
            private boolean linger;

            @Override
            public void line(byte[] line, boolean overflow) {
                String text = new String(line, StandardCharsets.UTF_8);
                events.add((overflow ? "overflow:" : "line:") + text);
                switch (text) {
                    case "close" -> out.close();
                    case "handshake" -> out.handshakeDone();
                    case "handshake elsewhere" -> { // as a worker thread would tell it
                        Thread t = new Thread(out::handshakeDone);
                        t.start();
                        try {
                            t.join();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        out.send("told\n".getBytes(StandardCharsets.UTF_8));
                    }
                    case "linger" -> linger = true;
                    case "flood" -> {
                        byte[] chunk = new byte[64 * 1024];
                        for (int i = 0; i < 40; i++) {
                            out.send(chunk.clone());
                        }
                    }
                    default -> out.send(("echo:" + text + "\n").getBytes(StandardCharsets.UTF_8));
                }
            }

            @Override
            public void closed() {
                events.add("closed");
                if (!linger) {
                    out.close();
                }
            }
        };
    };

    private Path start(int maxConnections, Duration handshake) throws IOException {
        Path socket = dir.resolve("s");
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        ch.bind(UnixDomainSocketAddress.of(socket));
        server = new ConnectionServer(maxConnections, Limits.DEFAULT.withHandshakeTimeout(handshake), clock);
        server.listen("test", ch, echo, a -> true, () -> events.add("listener closed"));
        server.start();
        return socket;
    }

    @AfterEach
    void stop() throws Exception {
        for (SocketChannel c : clients) {
            c.close();
        }
        if (server != null) {
            CompletableFuture<Boolean> stopped = server.stopAsync(Duration.ofSeconds(1));
            clock.advanceMillis(1000);
            stopped.get(10, TimeUnit.SECONDS);
        }
    }

    private SocketChannel connect(Path socket) throws IOException {
        SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        clients.add(c);
        return c;
    }

    private static void write(SocketChannel c, String text) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    /** Reads until {@code n} lines came, or end of input. */
    private static List<String> readLines(SocketChannel c, int n) throws IOException {
        List<String> lines = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        ByteBuffer b = ByteBuffer.allocate(4096);
        while (lines.size() < n) {
            b.clear();
            if (c.read(b) < 0) {
                break;
            }
            for (int i = 0; i < b.position(); i++) {
                char ch = (char) b.get(i);
                if (ch == '\n') {
                    lines.add(cur.toString());
                    cur.setLength(0);
                } else {
                    cur.append(ch);
                }
            }
        }
        return lines;
    }

    private String next() throws InterruptedException {
        String e = events.poll(5, TimeUnit.SECONDS);
        return e == null ? "(nothing within 5s)" : e;
    }

    @Test
    void linesSplitAcrossWritesAndJoinedInOneAreFramedOneByOne() throws Exception {
        SocketChannel c = connect(start(10, Duration.ofSeconds(30)));
        assertEquals("open", next());
        write(c, "first\nVER"); // the line seen means the server read this piece
        assertEquals("line:first", next());
        write(c, "SION\t1\r\nCPID\t7\nA");
        assertEquals("line:VERSION\t1", next(), "one CR before the LF is dropped");
        assertEquals("line:CPID\t7", next());
        write(c, "UTH\n");
        assertEquals("line:AUTH", next());
        assertEquals(List.of("echo:first", "echo:VERSION\t1", "echo:CPID\t7", "echo:AUTH"), readLines(c, 4));
    }

    @Test
    void aLineOfExactlyTheLimitPassesOneByteMoreIsAnOverflowWithItsHead() throws Exception {
        SocketChannel c = connect(start(10, Duration.ofSeconds(30)));
        assertEquals("open", next());
        String max = "A".repeat(Limits.DEFAULT.maxLine());
        write(c, max + "\n");
        assertEquals("line:" + max, next());
        String over = "AUTH\t5\tPLAIN\t" + "B".repeat(Limits.DEFAULT.maxLine());
        write(c, over + "\n" + "after\n");
        assertEquals("overflow:" + over.substring(0, Limits.DEFAULT.overflowHead()), next());
        assertEquals("line:after", next(), "the connection goes on after an overlong line");
    }

    @Test
    void aHugeLineIsNeverBufferedWhole() throws Exception {
        SocketChannel c = connect(start(10, Duration.ofSeconds(30)));
        assertEquals("open", next());
        write(c, "CONT\t9\t");
        byte[] mib = new byte[1 << 20];
        java.util.Arrays.fill(mib, (byte) 'x');
        for (int i = 0; i < 8; i++) { // 8 MiB without a LF
            ByteBuffer b = ByteBuffer.wrap(mib);
            while (b.hasRemaining()) {
                c.write(b);
            }
        }
        write(c, "\nnext\n");
        String overflow = next();
        assertTrue(overflow.startsWith("overflow:CONT\t9\txxx"), overflow);
        assertEquals(Limits.DEFAULT.overflowHead(), overflow.length() - "overflow:".length());
        assertEquals("line:next", next());
    }

    @Test
    void beyondMaxConnectionsNewOnesAreClosedAtOnce() throws Exception {
        Path socket = start(2, Duration.ofSeconds(30));
        connect(socket);
        connect(socket);
        assertEquals("open", next());
        assertEquals("open", next());
        SocketChannel third = connect(socket);
        assertEquals(List.of(), readLines(third, 1), "the third connection is closed without a word");
        assertEquals(2, opened.get());
        clients.get(0).close();
        assertEquals("closed", next());
        SocketChannel fourth = connect(socket); // room again
        assertEquals("open", next());
        write(fourth, "hi\n");
        assertEquals(List.of("echo:hi"), readLines(fourth, 1));
    }

    @Test
    void aClientThatDoesNotFinishItsHandshakeIsClosed() throws Exception {
        Path socket = start(10, Duration.ofMillis(300));
        SocketChannel silent = connect(socket);
        assertEquals("open", next());
        SocketChannel polite = connect(socket);
        assertEquals("open", next());
        write(polite, "handshake\n");
        assertEquals("line:handshake", next());
        clock.advanceMillis(299);
        write(silent, "ping\n");
        assertEquals(List.of("echo:ping"), readLines(silent, 1), "open until the timeout, lines or not");
        clock.advanceMillis(1);
        assertEquals(List.of(), readLines(silent, 1), "closed when the timeout ran out");
        clock.advanceMillis(60_000);
        write(polite, "still here\n");
        assertEquals(List.of("echo:still here"), readLines(polite, 1), "a finished handshake has no timeout");
    }

    @Test
    void aHandshakeEndedFromAnotherThreadCountsToo() throws Exception {
        SocketChannel c = connect(start(10, Duration.ofMillis(300)));
        assertEquals("open", next());
        write(c, "handshake elsewhere\n");
        assertEquals(List.of("told"), readLines(c, 1));
        clock.advanceMillis(300);
        write(c, "still here\n");
        assertEquals(List.of("echo:still here"), readLines(c, 1));
    }

    @Test
    void aClientThatEndsItsInputBeforeItsHandshakeIsNotCutOffWhileItsRepliesDrain() throws Exception {
        Path socket = start(10, Duration.ofMillis(300));
        SocketChannel c = connect(socket);
        assertEquals("open", next());
        write(c, "linger\n");
        assertEquals("line:linger", next());
        c.shutdownOutput();
        assertEquals("closed", next());
        SocketChannel probe = connect(socket); // its timeout falls due after c's: seen closed, c's was handled
        assertEquals("open", next());
        clock.advanceMillis(300);
        assertEquals(List.of(), readLines(probe, 1));
        assertEquals("closed", next());
        assertEquals(1, server.connectionCount(), "draining, not waiting for a handshake");
    }

    @Test
    void aStopWaitsForTheDrainTimeOnItsClockThenClosesWhatIsLeft() throws Exception {
        Path socket = start(10, Duration.ofSeconds(30));
        SocketChannel lingering = connect(socket);
        assertEquals("open", next());
        write(lingering, "handshake\nlinger\n");
        assertEquals("line:handshake", next());
        assertEquals("line:linger", next());
        CompletableFuture<Boolean> stopped = server.stopAsync(Duration.ofSeconds(5));
        List<String> seen = List.of(next(), next());
        assertTrue(seen.containsAll(List.of("listener closed", "closed")), seen.toString());
        clock.advanceMillis(4999);
        assertFalse(stopped.isDone(), "the handler has not closed, and the drain time is not over");
        assertEquals(1, server.connectionCount());
        clock.advanceMillis(1);
        assertFalse(stopped.get(10, TimeUnit.SECONDS), "not every connection finished");
        assertEquals(List.of(), readLines(lingering, 1), "closed by the end of the drain");
        assertEquals(0, server.connectionCount());
    }

    @Test
    void afterTheHandlerClosesNoMoreLinesReachItAndItsRepliesStillGoOut() throws Exception {
        SocketChannel c = connect(start(10, Duration.ofSeconds(30)));
        assertEquals("open", next());
        write(c, "hi\nclose\nafter\n");
        assertEquals("line:hi", next());
        assertEquals("line:close", next());
        assertEquals("closed", next(), "the line after the close is not handed over");
        assertEquals(List.of("echo:hi"), readLines(c, 2), "the reply, then the end");
    }

    @Test
    void aClientThatDoesNotReadIsDisconnectedNotBuffered() throws Exception {
        SocketChannel c = connect(start(10, Duration.ofSeconds(30)));
        assertEquals("open", next());
        write(c, "flood\n"); // 2.5 MiB of replies the client never reads
        assertEquals("line:flood", next());
        assertEquals("closed", next());
        assertEquals(0, waitForCount(0));
    }

    @Test
    void endOfInputLetsTheHandlerAnswerThenClose() throws Exception {
        SocketChannel c = connect(start(10, Duration.ofSeconds(30)));
        write(c, "last\n");
        c.shutdownOutput();
        assertEquals(List.of("echo:last"), readLines(c, 2), "reply, then end of input");
        assertEquals(0, waitForCount(0));
    }

    @Test
    void aLastLineWithoutLfIsALineAtEndOfInput() throws Exception {
        SocketChannel c = connect(start(10, Duration.ofSeconds(30)));
        assertEquals("open", next());
        write(c, "first\nlast");
        assertEquals("line:first", next());
        c.shutdownOutput();
        assertEquals("line:last", next());
        assertEquals("closed", next());
    }

    @Test
    void stopClosesTheListenerEndsInputAndWaitsForTheHandlers() throws Exception {
        Path socket = start(10, Duration.ofSeconds(30));
        SocketChannel c = connect(socket);
        assertEquals("open", next());
        write(c, "one\n");
        assertEquals("line:one", next());
        assertTrue(server.stop(Duration.ofSeconds(2)), "every connection finished within the drain time");
        assertTrue(events.contains("listener closed"), events.toString());
        assertTrue(events.contains("closed"), events.toString());
        assertEquals(List.of("echo:one"), readLines(c, 2));
        assertFalse(Files.exists(socket) && canConnect(socket), "nothing accepts after stop");
    }

    private static boolean canConnect(Path socket) {
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** A bounded poll: the count, once it is {@code n} or after 10 s. */
    private int waitForCount(int n) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (server.connectionCount() != n && System.nanoTime() - deadline < 0) {
            LockSupport.parkNanos(1_000_000);
        }
        return server.connectionCount();
    }

    @Test
    void aThousandIdleConnectionsAreServedByOneThread() throws Exception {
        Path socket = start(1000, Duration.ofSeconds(30));
        int before = Thread.activeCount();
        for (int i = 0; i < 1000; i++) {
            connect(socket);
        }
        assertEquals(1000, waitForCount(1000));
        assertTrue(Thread.activeCount() - before < 5, "threads grew by " + (Thread.activeCount() - before));
        SocketChannel last = clients.get(999);
        write(last, "ping\n");
        assertEquals(List.of("echo:ping"), readLines(last, 1));
        assertArrayEquals(new int[] {1000}, new int[] {opened.get()});
    }
}
