package org.saslauth.protocol;

import java.time.Duration;

/**
 * What one client connection may cost, in one place for the spawn loop ({@link AuthServer}) and
 * the daemon's connection layer: the line framer's limits, the buffers, and how long a client may
 * take to finish its handshake.
 *
 * @param maxLine the longest line, without its LF (Dovecot's limit is {@link #MAX_LINE}); a
 *     longer one is never buffered whole
 * @param overflowHead how much of an over-long line reaches the engine, so that it can still
 *     answer the line's id
 * @param readBuffer bytes read from a connection at once
 * @param outputBudget replies waiting for one client beyond which it is disconnected: a client
 *     that does not read must not fill the server's memory
 * @param readPause replies waiting for one client beyond which its input is left unread until
 *     it catches up
 * @param handshakeTimeout a daemon's connection that has not finished its handshake by then is
 *     closed (spawn has no such limit: smtpd owns the helper's life)
 */
public record Limits(int maxLine, int overflowHead, int readBuffer, int outputBudget, int readPause,
        Duration handshakeTimeout) {

    /** Dovecot's limit on an auth protocol line, without its LF. */
    public static final int MAX_LINE = 16384;

    /** The limits saslauth serves with. */
    public static final Limits DEFAULT = new Limits(MAX_LINE, 64, 16 * 1024, 1 << 20, 64 * 1024,
            Duration.ofSeconds(30));

    public Limits {
        if (maxLine < 1 || overflowHead < 1 || overflowHead > maxLine || readBuffer < 1
                || readPause < 1 || outputBudget < readPause) {
            throw new IllegalArgumentException("inconsistent limits: " + maxLine + " " + overflowHead + " "
                    + readBuffer + " " + outputBudget + " " + readPause);
        }
        if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
            throw new IllegalArgumentException("the handshake timeout must be positive");
        }
    }

    /** These limits with another handshake timeout. */
    public Limits withHandshakeTimeout(Duration timeout) {
        return new Limits(maxLine, overflowHead, readBuffer, outputBudget, readPause, timeout);
    }
}
