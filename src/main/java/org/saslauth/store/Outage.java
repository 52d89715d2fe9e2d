package org.saslauth.store;

import org.saslauth.Text;

import static org.saslauth.Log.LOG;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The state of a backend as the log tells it: one line when it stops answering and one when it
 * is back, however many logins meet it meanwhile, so that a database down for an hour does not
 * write one error per login attempt.
 */
final class Outage {

    private final String backend;
    private final AtomicBoolean down = new AtomicBoolean();

    Outage(String backend) {
        this.backend = backend;
    }

    /** A lookup failed for a reason that is not the user's; {@code reason} holds no secret. */
    void failed(String reason) {
        org.saslauth.Meter.current().passdbError();
        if (down.compareAndSet(false, true)) {
            LOG.error("{} unavailable, logins get a temporary failure until it answers again: {}", backend, reason);
        } else {
            LOG.debug("{} still unavailable: {}", backend, reason);
        }
    }

    /** A lookup was answered. */
    void answered() {
        if (down.get() && down.compareAndSet(true, false)) {
            LOG.info("{} answers again", backend);
        }
    }

    /** The innermost cause's message, which is where drivers say what happened. */
    static String describe(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage();
        String kind = root.getClass().getSimpleName();
        return message == null || message.isBlank() ? kind : kind + ": " + printable(message.strip());
    }

    /** A driver's message may repeat a value from the server or the user: no control character gets through. */
    private static String printable(String message) {
        StringBuilder out = new StringBuilder(message.length());
        message.codePoints().forEach(c -> out.appendCodePoint(Text.isControl(c) ? ' ' : c));
        return out.toString();
    }
}
