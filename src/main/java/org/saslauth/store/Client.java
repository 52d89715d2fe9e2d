package org.saslauth.store;

/**
 * The client address ({@code rip}) of the login whose step this thread runs, for a passdb that
 * hands it on (PAM's {@code PAM_RHOST}); empty when there is none. Set by the engine around each
 * step, which calls the passdb on the same thread.
 */
public final class Client {

    public static final ThreadLocal<String> ADDRESS = ThreadLocal.withInitial(() -> "");

    private Client() {}
}
