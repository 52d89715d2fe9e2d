package org.saslauth.daemon;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.lang.ref.WeakReference;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.saslauth.protocol.Limits;
import org.saslauth.protocol.ManualScheduler;

/**
 * A connection that finished its handshake and closed is not kept reachable by its handshake
 * timer (30 s) with its Session and everything the handler hangs on it (an AuthConnection, its
 * RequestHandler, its buffers): Exim and chasquid open one connection per login.
 */
@Timeout(30)
class ConnectionRetentionTest {

    @TempDir
    Path dir;

    @Test
    void aClosedConnectionIsNotKeptByItsHandshakeTimer() throws Exception {
        ManualScheduler clock = new ManualScheduler();
        AtomicReference<WeakReference<Object>> state = new AtomicReference<>();
        ConnectionHandler handler = (out, peer) -> {
            Object perConnection = new byte[64 * 1024]; // what a handler keeps per connection
            state.set(new WeakReference<>(perConnection));
            return new Session() {
                final Object held = perConnection;

                @Override
                public void line(byte[] line, boolean overflow) {
                    out.handshakeDone();
                    out.send("ok\n".getBytes(StandardCharsets.US_ASCII));
                }

                @Override
                public void closed() {
                    out.close();
                }
            };
        };
        Path socket = dir.resolve("s");
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        ch.bind(UnixDomainSocketAddress.of(socket));
        ConnectionServer server = new ConnectionServer(10, Limits.DEFAULT, clock);
        server.listen("test", ch, handler, a -> true, () -> {});
        server.start();
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            c.write(ByteBuffer.wrap("hello\n".getBytes(StandardCharsets.US_ASCII)));
            c.read(ByteBuffer.allocate(16));
        }
        long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(20); // a guard, not a measure
        while (server.connectionCount() > 0 && System.nanoTime() < giveUp) {
            LockSupport.parkNanos(1_000_000);
        }
        for (int i = 0; i < 20 && state.get().get() != null; i++) {
            System.gc();
            LockSupport.parkNanos(10_000_000);
        }
        boolean kept = state.get().get() != null;
        CompletableFuture<Boolean> stopped = server.stopAsync(Duration.ofSeconds(1));
        clock.advanceMillis(1000);
        stopped.get(10, TimeUnit.SECONDS);
        assertFalse(kept, "the closed connection's session is still reachable (from the handshake timer)");
    }
}
