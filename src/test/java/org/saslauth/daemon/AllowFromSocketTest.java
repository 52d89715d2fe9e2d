package org.saslauth.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code --allow-from} on a real dual-stack listener ({@code tcp:[::]:PORT}), bound by
 * {@link Daemon#bind}: an IPv4 client arrives there as an IPv4-mapped address and is matched as
 * its IPv4 address, an IPv6 client by its IPv6 blocks; a client outside the list is closed
 * before the handler hears of it.
 */
@ExtendWith(LogToFile.class)
@Timeout(30)
class AllowFromSocketTest {

    private Daemon daemon;

    /** Greets every connection it is given, so that a client can tell "let in" from "closed". */
    private static final ConnectionHandler GREETER = (out, peer) -> {
        out.send("hi\n".getBytes(StandardCharsets.US_ASCII));
        out.handshakeDone();
        return new Session() {
            @Override
            public void line(byte[] line, boolean overflow) {}

            @Override
            public void closed() {
                out.close();
            }
        };
    };

    @AfterEach
    void stop() {
        if (daemon != null) {
            daemon.stop();
        }
    }

    @ParameterizedTest(name = "--allow-from {0}: 127.0.0.1 {1}, ::1 {2}")
    @CsvSource(delimiter = '|', value = {
        "127.0.0.1                | in  | out",
        "127.0.0.0/8              | in  | out",
        "::ffff:127.0.0.1         | in  | out",
        "::1                      | out | in",
        "::/0                     | out | in",
        "0.0.0.0/0                | in  | out",
        "192.0.2.0/24, 2001:db8::1 | out | out",
        "'127.0.0.1, ::1'         | in  | in",
    })
    void anIpv4ClientOnADualStackSocketIsMatchedAsIpv4(String allow, String v4, String v6) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Daemon.Options o = new Daemon.Options(List.of(ListenAddress.parse("tcp:[::]:" + port)), null, null,
                AllowFrom.parse(allow), null, 10, false);
        try {
            daemon = Daemon.bind(o, GREETER, GREETER, Duration.ofSeconds(1), new CountDownLatch(1));
        } catch (SocketFile.Unusable e) {
            Assumptions.abort("no dual-stack socket here: " + e.getMessage());
        }
        daemon.start();
        assertEquals(v4, greeting("127.0.0.1", port), "127.0.0.1 with --allow-from " + allow);
        assertEquals(v6, greeting("::1", port), "::1 with --allow-from " + allow);
    }

    /** "in" when the server greeted the client, "out" when it closed the connection unanswered. */
    private static String greeting(String host, int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 5000);
            s.setSoTimeout(5000);
            InputStream in = s.getInputStream();
            byte[] b = new byte[3];
            int n = in.readNBytes(b, 0, 3);
            if (n == 3 && new String(b, StandardCharsets.US_ASCII).equals("hi\n")) {
                return "in";
            }
            return n == 0 ? "out" : "got " + n + " bytes";
        } catch (java.net.SocketException e) {
            return "out"; // reset
        }
    }
}
