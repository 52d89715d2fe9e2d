package org.saslauth.daemon;

/**
 * One connection as its handler sees it. Both methods are called on the connection layer's one
 * thread, one call at a time: they must return at once and hand any slow work (a password check,
 * a lookup in a remote store) to another thread, which then answers through {@link Replies}.
 */
public interface Session {

    /**
     * One line, without its LF (and one CR before it). When {@code overflow} is true the line was
     * longer than {@link org.saslauth.protocol.Limits#maxLine()} bytes and {@code line} holds only
     * its first {@link org.saslauth.protocol.Limits#overflowHead()} bytes; the rest was skipped
     * unread.
     */
    void line(byte[] line, boolean overflow);

    /**
     * No more lines will come: the client closed its side, the connection failed, or the server is
     * stopping. Called once. Replies may still be sent (a delayed FAIL); the connection stays open
     * until {@link Replies#close()} (a stopping server waits for that up to its drain time), or is
     * already gone, in which case replies are dropped.
     */
    void closed();
}
