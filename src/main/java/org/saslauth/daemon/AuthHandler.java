package org.saslauth.daemon;

import static org.saslauth.Log.LOG;
import static org.saslauth.Log.quote;

import java.time.Duration;
import org.saslauth.protocol.AuthConnection;
import org.saslauth.protocol.AuthService;

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
        BufferedReplies channel = new BufferedReplies(out);
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
}
