package org.saslauth.daemon;

import static org.saslauth.Log.LOG;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.saslauth.protocol.LineFramer;
import org.saslauth.protocol.Limits;
import org.saslauth.protocol.Scheduler;

/**
 * The handshake played through a handler on in-memory connections before the daemon binds its
 * sockets, so that the first clients of a freshly started daemon are greeted as fast as later
 * ones. Postfix's smtpd reads the whole handshake before it sends its 220 banner: on a new JVM
 * the first connection after the bind waited some 15 to 20 ms for its handshake, against half a
 * millisecond for later ones, some 10 ms of it while the engine's classes (the connection, its
 * request handler, the request parser, the framer) were loaded, linked and initialized and the
 * timer thread started. The rest is the connection layer's own first use (the JDK's socket
 * channels), which no in-memory connection reaches.
 *
 * <p>Each rehearsal is a client's {@code VERSION} and {@code CPID} lines, framed as the
 * connection layer frames them, then its end of input: what smtpd sends before its banner.
 * Nothing reaches a socket, the log, the metrics or the penalty store (a handshake asks none of
 * them), and no user is looked up. At {@code debug} the engine logs every client's pid and end,
 * so there is no rehearsal then: its connections would show in the log.
 *
 * <p>A few rehearsals suffice: the first loads the classes, and more do not make the path fast
 * enough to matter; the JIT compilers take thousands of connections, which would delay the
 * daemon's readiness more than they save.
 */
public final class HandshakeRehearsal {

    /** Rehearsals before the bind. */
    static final int TIMES = 3;

    /** What smtpd sends at once (Postfix's {@code xsasl_dovecot_server.c}); the pid is no real client's. */
    private static final byte[] CLIENT = "VERSION\t1\t0\nCPID\t0\n".getBytes(StandardCharsets.US_ASCII);

    private HandshakeRehearsal() {}

    /**
     * Starts {@code clock}'s timer thread, which the first connection's handshake deadline would
     * start, and rehearses the handshake through {@code handler} {@value #TIMES} times, unless the
     * log is at {@code debug}. Returns whether it rehearsed. A fault is left for the first real
     * connection to meet (and log): the rehearsal never stops the daemon.
     */
    public static boolean run(ConnectionHandler handler, Limits limits, Scheduler clock) {
        clock.schedule(() -> { }, 0);
        if (LOG.isDebugEnabled()) {
            return false;
        }
        try {
            for (int i = 0; i < TIMES; i++) {
                once(handler, limits);
            }
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** One connection's handshake and end; returns what the handler sent back. */
    static byte[] once(ConnectionHandler handler, Limits limits) {
        Sink out = new Sink();
        Session session = handler.open(out, new Peer("rehearsal", "local", 0));
        LineFramer framer = new LineFramer(limits, (line, overflow) -> {
            session.line(line, overflow);
            return !out.closed;
        });
        framer.push(CLIENT, 0, CLIENT.length);
        framer.end();
        session.closed();
        return out.bytes.toByteArray();
    }

    /** The client's side: collects the replies, closes when told to. */
    private static final class Sink implements Replies {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        volatile boolean closed;

        @Override
        public synchronized boolean send(byte[] data) {
            if (closed) {
                return false;
            }
            bytes.writeBytes(data);
            return true;
        }

        @Override
        public void close() {
            closed = true;
        }

        @Override
        public void handshakeDone() {}
    }
}
