package org.saslauth.daemon;

import static org.saslauth.protocol.Log.LOG;
import static org.saslauth.protocol.Log.quote;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import org.saslauth.protocol.AuthServer;

/**
 * A bridge, until the engine takes lines pushed to it: every connection runs spawn mode's
 * blocking {@link AuthServer#serve} on a thread of its own, fed the connection's lines through a
 * queue, its output sent back through {@link Replies}. It serves each client exactly as spawn mode
 * does, at the cost of two threads per connection (the reader and the engine's failure-delay
 * timer), and the per-address penalty and rate limit are per connection, as in spawn mode.
 */
public final class AuthServeBridge implements ConnectionHandler {

    /** Input queued for one connection's engine beyond which the client is a flood. */
    static final int MAX_QUEUED_INPUT = 256 * 1024;

    private final AuthServer.Settings settings;

    public AuthServeBridge(AuthServer.Settings settings) {
        this.settings = settings;
    }

    @Override
    public Session open(Replies out, Peer peer) {
        Bridged session = new Bridged(out, peer);
        Thread t = new Thread(null, session::serve, "saslauth-conn-" + peer.number(), 512 * 1024);
        t.setDaemon(true);
        t.start();
        return session;
    }

    private final class Bridged extends InputStream implements Session {
        private final Replies out;
        private final Peer peer;
        private final ArrayDeque<byte[]> queue = new ArrayDeque<>();
        private int queuedBytes;
        private int offset; // into queue's first element
        private boolean ended;
        private volatile String cpid = "-";

        Bridged(Replies out, Peer peer) {
            this.out = out;
            this.peer = peer;
        }

        void serve() {
            OutputStream toClient = new OutputStream() {
                @Override
                public void write(int b) {
                    out.send(new byte[] {(byte) b});
                }

                @Override
                public void write(byte[] b, int off, int len) {
                    out.send(Arrays.copyOfRange(b, off, off + len));
                }
            };
            try {
                new AuthServer(settings).serve(this, toClient);
            } catch (IOException | RuntimeException e) {
                LOG.error("connection {} failed", peer, e);
            } finally {
                out.close();
                LOG.debug("connection {} done (client pid {})", peer, cpid);
            }
        }

        // --- Session, on the connection thread ----------------------------------------------

        @Override
        public void line(byte[] line, boolean overflow) {
            byte[] framed;
            if (overflow) {
                // The engine recognises an overlong line by its length: the head, then filler.
                framed = Arrays.copyOf(line, line.length + ConnectionServer.MAX_LINE + 3);
                Arrays.fill(framed, line.length, framed.length - 1, (byte) 'x');
            } else {
                if (line.length > 5 && line[0] == 'C' && startsWith(line, "CPID\t")) {
                    cpid = quote(new String(line, 5, line.length - 5, StandardCharsets.UTF_8), 16);
                    out.handshakeDone();
                }
                framed = Arrays.copyOf(line, line.length + 1);
            }
            framed[framed.length - 1] = '\n';
            synchronized (this) {
                if (ended) {
                    return;
                }
                if (queuedBytes + framed.length > MAX_QUEUED_INPUT) {
                    LOG.warn("connection {}: more than {} bytes of requests waiting: closing", peer, MAX_QUEUED_INPUT);
                    ended = true;
                    notifyAll();
                    return;
                }
                queue.add(framed);
                queuedBytes += framed.length;
                notifyAll();
            }
        }

        @Override
        public synchronized void closed() {
            ended = true;
            notifyAll();
        }

        private static boolean startsWith(byte[] line, String prefix) {
            for (int i = 0; i < prefix.length(); i++) {
                if (line[i] != prefix.charAt(i)) {
                    return false;
                }
            }
            return true;
        }

        // --- InputStream, on the engine's thread --------------------------------------------

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public synchronized int read(byte[] b, int off, int len) throws IOException {
            while (queue.isEmpty() && !ended) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException();
                }
            }
            if (queue.isEmpty()) {
                return -1;
            }
            int n = 0;
            while (n < len && !queue.isEmpty()) {
                byte[] first = queue.peekFirst();
                int k = Math.min(len - n, first.length - offset);
                System.arraycopy(first, offset, b, off + n, k);
                n += k;
                offset += k;
                if (offset == first.length) {
                    queue.removeFirst();
                    queuedBytes -= first.length;
                    offset = 0;
                }
            }
            return n;
        }
    }
}
