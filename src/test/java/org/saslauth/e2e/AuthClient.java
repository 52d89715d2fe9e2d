package org.saslauth.e2e;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A client of Dovecot's auth protocol over a socket, line by line, every read bounded by a
 * timeout: what Postfix's smtpd, Exim or chasquid say to the daemon, scripted.
 */
final class AuthClient implements Closeable {

    private final SocketChannel channel;
    private final Selector selector;
    private final Duration timeout;
    private final ByteBuffer in = ByteBuffer.allocate(64 * 1024);
    private final StringBuilder pending = new StringBuilder();

    AuthClient(SocketAddress address, Duration timeout) throws IOException {
        this.channel = SocketChannel.open(address);
        this.timeout = timeout;
        channel.configureBlocking(false);
        selector = Selector.open();
        channel.register(selector, SelectionKey.OP_READ);
    }

    static AuthClient unix(Path socket) throws IOException {
        return new AuthClient(UnixDomainSocketAddress.of(socket), Duration.ofSeconds(15));
    }

    static AuthClient tcp(int port) throws IOException {
        return new AuthClient(new InetSocketAddress("127.0.0.1", port), Duration.ofSeconds(15));
    }

    /** Sends VERSION and CPID as smtpd does, and returns the server's handshake up to DONE. */
    List<String> handshake() throws IOException {
        send("VERSION\t1\t0\nCPID\t" + ProcessHandle.current().pid());
        List<String> lines = new ArrayList<>();
        String line;
        do {
            line = readLine();
            if (line == null) {
                throw new IOException("connection closed during the handshake after " + lines);
            }
            lines.add(line);
        } while (!line.equals("DONE"));
        return lines;
    }

    /** Sends text with a LF added. */
    void send(String text) throws IOException {
        sendRaw((text + "\n").getBytes(StandardCharsets.UTF_8));
    }

    void sendRaw(byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (b.hasRemaining()) {
            if (channel.write(b) == 0) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("the server does not read");
                }
                sleep(1);
            }
        }
    }

    /** The next line without its LF, or null at end of input; an IOException after the timeout. */
    String readLine() throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            int nl = pending.indexOf("\n");
            if (nl >= 0) {
                String line = pending.substring(0, nl);
                pending.delete(0, nl + 1);
                return line;
            }
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                throw new IOException("no line within " + timeout + " (have '" + pending + "')");
            }
            selector.select(left);
            selector.selectedKeys().clear();
            in.clear();
            int n = channel.read(in);
            if (n < 0) {
                return null;
            }
            pending.append(new String(in.array(), 0, in.position(), StandardCharsets.UTF_8));
        }
    }

    /** Whether the server closed the connection within the timeout, with nothing more said. */
    boolean closedByServer() throws IOException {
        try {
            return readLine() == null;
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("no line within")) {
                return false;
            }
            return true; // reset
        }
    }

    static String plain(String user, String password) {
        return java.util.Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    static String authPlain(int id, String user, String password) {
        return authPlain(id, user, password, "127.0.0.1");
    }

    /** From an SMTP client at {@code rip}: the per-address limits and penalty count by it. */
    static String authPlain(int id, String user, String password, String rip) {
        return "AUTH\t" + id + "\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=" + rip + "\tresp=" + plain(user, password);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() throws IOException {
        selector.close();
        channel.close();
    }
}
