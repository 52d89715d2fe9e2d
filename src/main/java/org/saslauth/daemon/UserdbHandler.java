package org.saslauth.daemon;

import static org.saslauth.Log.LOG;

import java.util.concurrent.Executor;
import org.saslauth.Clock;
import org.saslauth.mech.Credentials;
import org.saslauth.protocol.UserdbConnection;
import org.saslauth.protocol.UserdbService;

/**
 * Dovecot's auth-master userdb lookups ({@code --userdb-listen}) on the daemon's connections:
 * one {@link UserdbConnection} per connection, fed the lines the connection layer reads, closed
 * once its lookups in flight have answered.
 */
public final class UserdbHandler implements ConnectionHandler {

    private final UserdbService service;

    /** Lookups run on {@code workers}: a store may be a remote server. */
    public UserdbHandler(Credentials credentials, Executor workers) {
        this(credentials, workers, Clock.SYSTEM);
    }

    /** Lookups due {@code AuthService.ANSWER_WITHIN} after their request, on {@code clock}. */
    public UserdbHandler(Credentials credentials, Executor workers, Clock clock) {
        this.service = new UserdbService(credentials, workers, clock);
    }

    @Override
    public Session open(Replies out, Peer peer) {
        UserdbConnection connection = service.connect(new BufferedReplies(out), peer);
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
                    out.handshakeDone();
                }
                if (!more) {
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
                connection.finishThen(() -> {
                    out.close();
                    LOG.debug("userdb connection {} done", peer);
                });
            }
        };
    }
}
