package org.saslauth.daemon;

/**
 * What a listener serves: the connection layer ({@link ConnectionServer}) owns the sockets, the
 * framing into lines and the limits; a handler sees lines and answers through {@link Replies},
 * never a socket. One handler serves every connection of a listener, so it is where state shared
 * across connections lives.
 */
public interface ConnectionHandler {

    /**
     * A new connection. Called on the connection layer's one thread: return at once, never block.
     * Anything to send first (a greeting) may be sent here through {@code out}.
     */
    Session open(Replies out, Peer peer);
}
