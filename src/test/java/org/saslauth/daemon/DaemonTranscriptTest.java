package org.saslauth.daemon;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.saslauth.protocol.AuthService;
import org.saslauth.protocol.Limits;
import org.saslauth.protocol.Scheduler;
import org.saslauth.protocol.Transcript;

/**
 * The golden transcripts of the spawn loop through the daemon: a {@link ConnectionServer} on a
 * UNIX socket, its framer and {@link AuthHandler}, with the same replies expected. The client
 * sends the whole input, ends its side, and reads until the server closes. Steps run on the
 * selector thread, so that replies come in the order of the requests, as in the spawn test.
 */
@ExtendWith(LogToFile.class)
class DaemonTranscriptTest {

    @TempDir
    Path dir;

    private ConnectionServer server;

    static Stream<Path> transcripts() throws IOException {
        return Transcript.all();
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(Duration.ofSeconds(1));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transcripts")
    @Timeout(20)
    void transcript(Path file) throws Exception {
        Transcript t = Transcript.load(file);
        Path socket = dir.resolve("auth");
        ServerSocketChannel listening = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        listening.bind(UnixDomainSocketAddress.of(socket));
        AuthService service = new AuthService(t.settings(), Scheduler.system(), Runnable::run);
        server = new ConnectionServer(10, Limits.DEFAULT, Scheduler.system());
        server.listen("test", listening, new AuthHandler(service), a -> true, () -> { });
        server.start();

        ByteArrayOutputStream output = new ByteArrayOutputStream();
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            ByteBuffer in = ByteBuffer.wrap(t.input());
            while (in.hasRemaining()) {
                c.write(in);
            }
            c.shutdownOutput();
            ByteBuffer b = ByteBuffer.allocate(8192);
            while (c.read(b.clear()) >= 0) {
                output.write(b.array(), 0, b.position());
            }
        }
        t.check(output.toByteArray());
    }
}
