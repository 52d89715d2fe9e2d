import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The benchmark's load for a server on a socket (saslauth daemon, Dovecot's auth-client socket):
 * PLAIN logins over many connections at once, a window of requests in flight on each, driven by
 * one selector thread so that the driver costs the machine as little as it can. A Python driver
 * would spend more CPU than the servers it measures at these rates.
 *
 * <pre>java LoadClient SOCKET CONNECTIONS WINDOW WARMUP LOGINS [REQUESTS]</pre>
 *
 * Users are user0..user99 with passwords pass-0..pass-99, as bench.py writes them; with
 * REQUESTS, a file of lines {@code MECHANISM<TAB>BASE64}, those logins in turn instead (the
 * token mechanisms' row). Runs WARMUP
 * logins untimed, then LOGINS timed, and prints "logins/s fails".
 */
public final class LoadClient {

    private static final int USERS = 100;

    /** The REQUESTS file's mechanism and initial response per line, or null for PLAIN. */
    private static String[][] requests;

    /** Each user's request after its id, made once: the driver should cost the machine little. */
    private static final byte[][] SUFFIXES = new byte[USERS][];

    static byte[] suffix(int u) {
        byte[] s = SUFFIXES[u];
        if (s == null) {
            String mech = "PLAIN";
            String resp;
            if (requests != null) {
                mech = requests[u % requests.length][0];
                resp = requests[u % requests.length][1];
            } else {
                resp = Base64.getEncoder().encodeToString(("\0user" + u + "\0pass-" + u).getBytes(StandardCharsets.US_ASCII));
            }
            s = ("\t" + mech + "\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.10\tresp=" + resp + "\n")
                    .getBytes(StandardCharsets.US_ASCII);
            SUFFIXES[u] = s;
        }
        return s;
    }

    public static void main(String[] args) throws IOException {
        UnixDomainSocketAddress socket = UnixDomainSocketAddress.of(args[0]);
        int connections = Integer.parseInt(args[1]);
        int window = Integer.parseInt(args[2]);
        int warmup = Integer.parseInt(args[3]);
        int logins = Integer.parseInt(args[4]);
        if (args.length > 5) {
            requests = java.nio.file.Files.readAllLines(java.nio.file.Path.of(args[5])).stream()
                    .filter(l -> !l.isEmpty()).map(l -> l.split("\t", 2)).toArray(String[][]::new);
        }
        Selector selector = Selector.open();
        Conn[] conns = new Conn[connections];
        for (int i = 0; i < connections; i++) {
            conns[i] = new Conn(SocketChannel.open(socket), i);
        }
        for (Conn c : conns) {
            c.handshake();
        }
        for (Conn c : conns) {
            c.ch.configureBlocking(false);
            c.ch.register(selector, SelectionKey.OP_READ, c);
        }
        run(selector, conns, window, warmup);
        long t0 = System.nanoTime();
        int fails = run(selector, conns, window, logins);
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("%.1f %d%n", logins / seconds, fails);
        for (Conn c : conns) {
            c.ch.close();
        }
    }

    /** Runs {@code total} logins spread over the connections; returns the failures. */
    private static int run(Selector selector, Conn[] conns, int window, int total) throws IOException {
        int sent = 0;
        int done = 0;
        int fails = 0;
        for (Conn c : conns) {
            int n = Math.min(window, total - sent);
            c.send(n);
            sent += n;
        }
        while (done < total) {
            selector.select();
            for (SelectionKey k : selector.selectedKeys()) {
                Conn c = (Conn) k.attachment();
                int[] got = c.receive();
                done += got[0];
                fails += got[1];
                int n = Math.min(got[0], total - sent);
                if (n > 0) {
                    c.send(n);
                    sent += n;
                }
            }
            selector.selectedKeys().clear();
        }
        return fails;
    }

    private static final class Conn {
        final SocketChannel ch;
        final ByteBuffer in = ByteBuffer.allocate(1 << 16);
        ByteBuffer out = ByteBuffer.allocate(1 << 16);
        int nextId;
        int nextUser;
        boolean lineStart = true;
        boolean failLine;
        int matched; // bytes of "FAIL" matched at the start of the current line

        Conn(SocketChannel ch, int n) {
            this.ch = ch;
            this.nextId = 1 + n * 7; // ids need not start at 1
            this.nextUser = n % USERS;
        }

        void handshake() throws IOException {
            ch.write(ByteBuffer.wrap("VERSION\t1\t0\nCPID\t4242\n".getBytes(StandardCharsets.US_ASCII)));
            StringBuilder got = new StringBuilder();
            ByteBuffer b = ByteBuffer.allocate(4096);
            while (!got.toString().contains("\nDONE\n")) {
                b.clear();
                if (ch.read(b) < 0) {
                    throw new IOException("closed during the handshake: " + got);
                }
                got.append(new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII));
            }
        }

        void send(int n) throws IOException {
            out.clear();
            for (int i = 0; i < n; i++) {
                int u = nextUser;
                nextUser = (nextUser + 1) % USERS;
                byte[] id = ("AUTH\t" + nextId++).getBytes(StandardCharsets.US_ASCII);
                byte[] rest = suffix(u);
                int length = id.length + rest.length;
                if (out.remaining() < length) {
                    ByteBuffer bigger = ByteBuffer.allocate(Math.max(out.capacity() * 2, out.position() + length));
                    out.flip();
                    bigger.put(out);
                    out = bigger;
                }
                out.put(id);
                out.put(rest);
            }
            out.flip();
            while (out.hasRemaining()) { // a window's worth fits the socket buffer
                ch.write(out);
            }
        }

        /** Reads what is there; returns {lines, failures}. */
        int[] receive() throws IOException {
            in.clear();
            int r = ch.read(in);
            if (r < 0) {
                throw new IOException("server closed a connection");
            }
            int lines = 0;
            int fails = 0;
            byte[] a = in.array();
            for (int i = 0; i < r; i++) {
                byte c = a[i];
                if (lineStart) {
                    matched = 0;
                    failLine = false;
                    lineStart = false;
                }
                if (matched >= 0 && matched < 4) {
                    matched = c == "FAIL".charAt(matched) ? matched + 1 : -1;
                    if (matched == 4) {
                        failLine = true;
                    }
                }
                if (c == '\n') {
                    lines++;
                    if (failLine) {
                        fails++;
                    }
                    lineStart = true;
                }
            }
            return new int[] {lines, fails};
        }
    }
}
