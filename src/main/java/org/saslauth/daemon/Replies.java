package org.saslauth.daemon;

/**
 * The way back to a client. Safe to call from any thread, and never blocks: data is queued and
 * written by the connection layer as the client reads it. The queue is bounded: a client that
 * stops reading while replies pile up is disconnected.
 */
public interface Replies {

    /**
     * Queues bytes (whole lines, LF included) for the client. Returns false, dropping them,
     * when the connection is gone (or closing, or disconnected for not reading).
     */
    boolean send(byte[] data);

    /** Closes the connection once everything sent before has been written. */
    void close();

    /**
     * The client finished its handshake: the connection is no longer closed by the handshake
     * timeout ({@link org.saslauth.protocol.Limits#handshakeTimeout()}). Idempotent.
     */
    void handshakeDone();
}
