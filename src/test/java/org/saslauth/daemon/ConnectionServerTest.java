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
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The connection layer alone, with a recording handler over a real UNIX socket. */
@ExtendWith(LogToFile.class)
@Timeout(30)
class ConnectionServerTest {

    @TempDir
    Path dir;

    private ConnectionServer server;
    private final List<SocketChannel> clients = new ArrayList<>();

    /** What the handler saw: "open", "line:TEXT", "overflow:HEAD", "closed". */
    private final BlockingQueue<String> events = new LinkedBlockingQueue<>();
    private final AtomicInteger opened = new AtomicInteger();

    /** Echoes every line back as "echo:LINE"; "close" closes; "handshake" ends the handshake. */
    private final ConnectionHandler echo = (out, peer) -> {
        opened.incrementAndGet();
        events.add("open");
        return new Session() {
            @Override
            public void line(byte[] line, boolean overflow) {
                String text = new String(line, StandardCharsets.UTF_8);
                events.add((overflow ? "overflow:" : "line:") + text);
                switch (text) {
                    case "close" -> out.close();
                    case "handshake" -> out.handshakeDone();
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
                out.close();
            }
        };
    };

    private Path start(int maxConnections, Duration handshake) throws IOException {
        Path socket = dir.resolve("s");
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        ch.bind(UnixDomainSocketAddress.of(socket));
        server = new ConnectionServer(maxConnections, handshake);
        server.listen("test", ch, echo, a -> true, () -> events.add("listener closed"));
        server.start();
        return socket;
    }

    @AfterEach
    void stop() throws IOException {
        for (SocketChannel c : clients) {
            c.close();
        }
        if (server != null) {
            server.stop(Duration.ofSeconds(1));
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
        write(c, "VER");
        Thread.sleep(50);
        write(c, "SION\t1\r\nCPID\t7\nA");
        Thread.sleep(50);
        write(c, "UTH\n");
        assertEquals("line:VERSION\t1", next(), "one CR before the LF is dropped");
        assertEquals("line:CPID\t7", next());
        assertEquals("line:AUTH", next());
        assertEquals(List.of("echo:VERSION\t1", "echo:CPID\t7", "echo:AUTH"), readLines(c, 3));
    }

    @Test
    void aLineOfExactlyTheLimitPassesOneByteMoreIsAnOverflowWithItsHead() throws Exception {
        SocketChannel c = connect(start(10, Duration.ofSeconds(30)));
        assertEquals("open", next());
        String max = "A".repeat(ConnectionServer.MAX_LINE);
        write(c, max + "\n");
        assertEquals("line:" + max, next());
        String over = "AUTH\t5\tPLAIN\t" + "B".repeat(ConnectionServer.MAX_LINE);
        write(c, over + "\n" + "after\n");
        assertEquals("overflow:" + over.substring(0, ConnectionServer.OVERFLOW_HEAD), next());
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
        assertEquals(ConnectionServer.OVERFLOW_HEAD, overflow.length() - "overflow:".length());
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
        SocketChannel polite = connect(socket);
        write(polite, "handshake\n");
        long t0 = System.nanoTime();
        assertEquals(List.of(), readLines(silent, 1), "closed");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 3000, "closed after " + ms + " ms");
        Thread.sleep(1500);
        write(polite, "still here\n");
        assertEquals(List.of("echo:still here"), readLines(polite, 1));
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

    private int waitForCount(int n) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (server.connectionCount() != n && System.nanoTime() < deadline) {
            Thread.sleep(10);
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
