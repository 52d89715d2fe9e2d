package org.saslauth.daemon;

import static org.saslauth.Log.LOG;
import static org.saslauth.Log.quote;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.saslauth.Clock;
import org.saslauth.Deadline;
import org.saslauth.mech.Credentials;
import org.saslauth.protocol.AuthService;
import org.saslauth.protocol.Escaping;
import org.saslauth.store.CredentialStore;

/**
 * Dovecot's auth-master userdb lookup ({@code --userdb-listen}), enough for "does this user
 * exist": chasquid's {@code dovecot_auth} checks of local recipients and {@code doveadm user -a}.
 * Only {@code USER} is served; a user's password never leaves through this socket.
 *
 * <pre>
 * S: VERSION 1 0 / SPID pid                    (sent at once)
 * C: VERSION 1 n
 * C: USER id name service=smtp ...
 * S: USER id canonical-name | NOTFOUND id | FAIL id reason=text
 * </pre>
 *
 * Names follow the rules of {@link Credentials#canonical}: a name no login could use is not
 * found. Lookups run on the worker pool: a store may be a remote server.
 */
public final class UserdbHandler implements ConnectionHandler {

    /** Lookups of one connection in progress beyond which a request gets FAIL at once. */
    static final int MAX_IN_FLIGHT = 32;

    private final Credentials credentials;
    private final Executor workers;
    private final byte[] greeting;
    private volatile boolean unsupportedLogged;

    public UserdbHandler(Credentials credentials, Executor workers) {
        this.credentials = credentials;
        this.workers = workers;
        this.greeting = ("VERSION\t1\t0\nSPID\t" + org.saslauth.Pid.CURRENT + "\n").getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public Session open(Replies out, Peer peer) {
        out.send(greeting.clone());
        return new Lookups(out, peer);
    }

    private final class Lookups implements Session {
        private final Replies out;
        private final Peer peer;
        private int inFlight; // guarded by this
        private boolean ended;

        Lookups(Replies out, Peer peer) {
            this.out = out;
            this.peer = peer;
        }

        @Override
        public void line(byte[] bytes, boolean overflow) {
            if (overflow) {
                LOG.warn("userdb connection {}: line longer than {} bytes: closing", peer, ConnectionServer.MAX_LINE);
                out.close();
                return;
            }
            String[] f = new String(bytes, StandardCharsets.UTF_8).split("\t", -1);
            switch (f[0]) {
                case "VERSION" -> {
                    if (f.length < 2 || !f[1].equals("1")) {
                        LOG.error("userdb connection {}: client speaks version {}, only 1 is supported; closing",
                                peer, quote(f.length < 2 ? "" : f[1], 16));
                        out.close();
                        return;
                    }
                    out.handshakeDone();
                }
                case "USER" -> user(f);
                case "CPID" -> {
                    LOG.warn("userdb connection {}: an auth client connected to the userdb socket; closing", peer);
                    out.close();
                }
                case "" -> { }
                default -> {
                    if (f.length > 1 && isId(f[1])) {
                        LOG.warn("userdb connection {}: {} is not served", peer, quote(f[0], 16));
                        send("FAIL\t" + f[1] + "\treason=Unsupported command\n");
                    } else {
                        LOG.warn("userdb connection {}: unknown command {}; closing", peer, quote(f[0], 16));
                        out.close();
                    }
                }
            }
        }

        private void user(String[] f) {
            if (f.length < 3 || !isId(f[1])) {
                LOG.warn("userdb connection {}: malformed USER request; closing", peer);
                out.close();
                return;
            }
            String id = f[1];
            Optional<String> name = credentials.canonical(Escaping.unescape(f[2]).getBytes(StandardCharsets.UTF_8));
            if (name.isEmpty()) {
                LOG.debug("userdb lookup id={}: invalid user name", id);
                send("NOTFOUND\t" + id + "\n");
                return;
            }
            synchronized (this) {
                if (inFlight >= MAX_IN_FLIGHT) {
                    send("FAIL\t" + id + "\treason=Too many requests\n");
                    return;
                }
                inFlight++;
            }
            try {
                Deadline deadline = Deadline.in(Clock.SYSTEM, AuthService.ANSWER_WITHIN);
                workers.execute(() -> answer(id, name.get(), deadline));
            } catch (RejectedExecutionException e) {
                finished();
                send("FAIL\t" + id + "\treason=Server stopping\n");
            }
        }

        private void answer(String id, String name, Deadline deadline) {
            String reply;
            try {
                CredentialStore.Lookup found = credentials.lookup(name, deadline);
                if (found instanceof CredentialStore.Lookup.Found) {
                    reply = "USER\t" + id + "\t" + Escaping.escape(name) + "\n";
                    LOG.debug("userdb lookup id={} user={}: found", id, quote(name));
                } else if (found instanceof CredentialStore.Lookup.UnknownUser) {
                    reply = "NOTFOUND\t" + id + "\n";
                    LOG.debug("userdb lookup id={} user={}: not found", id, quote(name));
                } else if (found instanceof CredentialStore.Lookup.Unavailable) {
                    LOG.warn("userdb lookup id={} user={}: user store unavailable", id, quote(name));
                    reply = "FAIL\t" + id + "\treason=User store unavailable\n";
                } else {
                    if (!unsupportedLogged) {
                        unsupportedLogged = true;
                        LOG.error("userdb lookups need a user store that can look users up; this one cannot");
                    }
                    reply = "FAIL\t" + id + "\treason=User lookups not supported\n";
                }
            } catch (RuntimeException e) {
                LOG.error("userdb lookup id={} failed", id, e);
                reply = "FAIL\t" + id + "\treason=Internal error\n";
            }
            send(reply);
            finished();
        }

        private void finished() {
            boolean close;
            synchronized (this) {
                inFlight--;
                close = ended && inFlight == 0;
            }
            if (close) {
                out.close();
            }
        }

        @Override
        public void closed() {
            boolean close;
            synchronized (this) {
                ended = true;
                close = inFlight == 0;
            }
            if (close) {
                out.close();
            }
        }

        private void send(String line) {
            out.send(line.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** An unsigned 32-bit decimal number, as Dovecot's ids. */
    static boolean isId(String s) {
        if (s.isEmpty() || s.length() > 10) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return Long.parseLong(s) <= 0xFFFF_FFFFL;
    }
}
