package org.saslauth.store;

/**
 * The client address ({@code rip}) and service of the login whose step this thread runs, for a
 * passdb that hands them on (PAM's {@code PAM_RHOST}) or judges by them (app passwords); empty
 * when there is none. Set by the engine around each
 * step, which calls the passdb on the same thread.
 */
public final class Client {

    public static final ThreadLocal<String> ADDRESS = ThreadLocal.withInitial(() -> "");

    /**
     * The service of that login ({@code service=}, or {@code protocol=} from Dovecot 2.4's
     * clients: {@code smtp}, {@code imap}...), lower case, for app passwords limited to some
     * services; empty when the client sent none.
     */
    public static final ThreadLocal<String> SERVICE = ThreadLocal.withInitial(() -> "");

    private Client() {}
}
