package org.saslauth.protocol;

import static org.saslauth.Log.LOG;
import static org.saslauth.Log.quote;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import org.saslauth.Deadline;
import org.saslauth.mech.Credentials;
import org.saslauth.store.CredentialStore;

/**
 * Dovecot's auth-master userdb lookup on one connection, enough for "does this user exist":
 * chasquid's {@code dovecot_auth} checks of local recipients and {@code doveadm user -a}. Only
 * {@code USER} is served; a user's password never leaves through this socket.
 *
 * <pre>
 * S: VERSION 1 0 / SPID pid                    (sent at once)
 * C: VERSION 1 n
 * C: USER id name service=smtp ...
 * S: USER id canonical-name | NOTFOUND id | FAIL id reason=text
 * </pre>
 *
 * Names follow the rules of {@link Credentials#canonical}: a name no login could use is not
 * found. Lookups run on the service's workers and answer from there, each reply flushed as it
 * comes; lines are pushed by one reader, as into {@link AuthConnection}. A line that makes no
 * sense here (another major version, an auth client's {@code CPID}, a malformed {@code USER},
 * an over-long line, an unknown command without an id) ends the connection: the lookups in
 * flight are still answered, then {@link #finishThen} closes it.
 */
public final class UserdbConnection {

    /** Lookups of one connection in progress beyond which a request gets FAIL at once. */
    public static final int MAX_IN_FLIGHT = 32;

    private final UserdbService service;
    private final ReplyChannel out;
    private final Object peer;
    private boolean handshakeDone; // reader only
    private boolean ending; // reader only
    // guarded by this
    private int inFlight;
    private Runnable whenDone;

    UserdbConnection(UserdbService service, ReplyChannel out, Object peer) {
        this.service = service;
        this.out = out;
        this.peer = peer;
    }

    /** Sends the greeting: the server speaks first on this socket. */
    public void start() {
        synchronized (this) {
            out.write(service.greeting.clone());
            out.flush();
        }
    }

    /** Whether the client sent its {@code VERSION}, of major version 1. */
    public boolean handshakeDone() {
        return handshakeDone;
    }

    /**
     * Handles one line, without its LF; {@code overflow}: the head of a line over the limit.
     * Returns false when the connection is to end: call {@link #finishThen} and push no more.
     */
    public boolean receive(byte[] line, boolean overflow) {
        if (ending) {
            return false;
        }
        if (overflow) {
            return end("line longer than " + Limits.MAX_LINE + " bytes");
        }
        Request request = Request.parseMaster(new String(line, StandardCharsets.UTF_8));
        if (request instanceof Request.Version v) {
            if (!v.major().equals("1")) {
                LOG.error("userdb connection {}: client speaks version {}, only 1 is supported; closing",
                        peer, quote(v.major(), 16));
                ending = true;
                return false;
            }
            handshakeDone = true;
        } else if (request instanceof Request.User u) {
            user(u);
        } else if (request instanceof Request.Cpid) {
            return end("an auth client connected to the userdb socket");
        } else if (request instanceof Request.Malformed m) {
            return end("malformed request (" + m.what() + ")");
        } else if (request instanceof Request.Unserved u) {
            LOG.warn("userdb connection {}: {} is not served", peer, quote(u.command(), 16));
            send("FAIL\t" + u.id() + "\treason=Unsupported command\n");
        } else if (request instanceof Request.Unknown u && !u.command().isEmpty()) {
            return end("unknown command " + quote(u.command(), 16));
        }
        return !out.isBroken();
    }

    private boolean end(String why) {
        LOG.warn("userdb connection {}: {}; closing", peer, why);
        ending = true;
        return false;
    }

    /**
     * No more lines: runs {@code done} (closing the connection) once every lookup in flight has
     * answered, at once when none is. Called once.
     */
    public void finishThen(Runnable done) {
        ending = true;
        boolean now;
        synchronized (this) {
            now = inFlight == 0;
            if (!now) {
                whenDone = done;
            }
        }
        if (now) {
            done.run();
        }
    }

    private void user(Request.User u) {
        String id = u.id();
        Optional<String> name = service.credentials.canonical(u.name().getBytes(StandardCharsets.UTF_8));
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
        Deadline deadline = Deadline.in(service.clock, AuthService.ANSWER_WITHIN);
        try {
            service.workers.execute(() -> answer(id, name.get(), deadline));
        } catch (RejectedExecutionException e) {
            send("FAIL\t" + id + "\treason=Server stopping\n");
            finished();
        }
    }

    private void answer(String id, String name, Deadline deadline) {
        String reply;
        try {
            CredentialStore.Lookup found = service.credentials.lookup(name, deadline);
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
                if (!service.unsupportedLogged) {
                    service.unsupportedLogged = true;
                    LOG.error("userdb lookups need a user store that can look users up; this one cannot");
                }
                reply = "FAIL\t" + id + "\treason=User lookups not supported\n";
            }
        } catch (RuntimeException | Error e) { // an Error too: answered, never lost
            LOG.error("userdb lookup id={} failed", id, e);
            reply = "FAIL\t" + id + "\treason=Internal error\n";
        }
        send(reply);
        finished();
    }

    private void finished() {
        Runnable done;
        synchronized (this) {
            inFlight--;
            done = inFlight == 0 ? whenDone : null;
            if (done != null) {
                whenDone = null;
            }
        }
        if (done != null) {
            done.run();
        }
    }

    private synchronized void send(String line) {
        out.write(line.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
