package org.saslauth.protocol;

/**
 * Where a connection's replies go: the helper's stdout under spawn(8), a socket in a daemon.
 * The engine calls it with its connection's lock held, so calls never overlap.
 */
public interface ReplyChannel {

    /** Writes (or queues) one whole line, LF included; must not block for long. */
    void write(byte[] line);

    /** Sends what was written; called when no reply follows at once. */
    void flush();

    /** Whether the peer is gone: replies are then dropped and the connection ends. */
    boolean isBroken();
}
