package org.saslauth.daemon;

import static org.saslauth.Log.LOG;
import static org.saslauth.Log.quote;

import java.io.ByteArrayOutputStream;
import java.time.Duration;
import org.saslauth.protocol.AuthConnection;
import org.saslauth.protocol.AuthService;
import org.saslauth.protocol.ReplyChannel;

/**
 * Dovecot's auth client protocol on the daemon's connections: one {@link AuthConnection} of the
 * shared {@link AuthService} per connection, fed the lines the connection layer reads. At the
 * end of input the connection is closed once the replies still due (held FAILs, running checks)
 * are out, without a thread waiting for them.
 */
public final class AuthHandler implements ConnectionHandler {

    /** The longest an ending connection waits for its replies still due: the longest delay, and a margin. */
    public static final Duration FINISH = Duration.ofSeconds(6);

    private final AuthService service;

    public AuthHandler(AuthService service) {
        this.service = service;
    }

    @Override
    public Session open(Replies out, Peer peer) {
        Lines channel = new Lines(out);
        AuthConnection connection = service.connect(channel);
        connection.start();
        return new Session() {
            private boolean greeted;
            private boolean ended;

            @Override
            public void line(byte[] line, boolean overflow) {
                if (ended) {
                    return;
                }
                boolean more = connection.receive(line, overflow);
                if (!greeted && connection.handshakeDone()) {
                    greeted = true;
                    out.handshakeDone(); // VERSION and CPID: the client's handshake
                }
                if (more) {
                    connection.flush();
                } else {
                    end();
                }
            }

            @Override
            public void closed() {
                end();
            }

            private void end() {
                if (ended) {
                    return;
                }
                ended = true;
                connection.finishThen(FINISH, () -> {
                    out.close();
                    LOG.debug("connection {} done (client pid {})", peer, quote(connection.clientPid(), 16));
                });
            }
        };
    }

    /**
     * The engine's replies, collected until it flushes and then queued on the connection as one
     * piece. The engine calls it with its connection's lock held, so calls never overlap.
     */
    private static final class Lines implements ReplyChannel {
        private final Replies out;
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream(256);
        private volatile boolean broken;

        Lines(Replies out) {
            this.out = out;
        }

        @Override
        public void write(byte[] line) {
            if (!broken) {
                pending.writeBytes(line);
            }
        }

        @Override
        public void flush() {
            if (pending.size() == 0) {
                return;
            }
            if (!out.send(pending.toByteArray())) {
                broken = true;
            }
            pending.reset();
        }

        @Override
        public boolean isBroken() {
            return broken;
        }
    }
}
