package org.saslauth.protocol;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executor;
import org.saslauth.Clock;
import org.saslauth.Pid;
import org.saslauth.mech.Credentials;

/**
 * What the auth-master (userdb) connections of a daemon share: the user store, the pool the
 * lookups run on, and what is logged once per process rather than once per connection.
 */
public final class UserdbService {

    final Credentials credentials;
    final Executor workers;
    /** What a lookup's deadline is read on. */
    final Clock clock;
    final byte[] greeting = ("VERSION\t1\t0\nSPID\t" + Pid.CURRENT + "\n").getBytes(StandardCharsets.US_ASCII);
    /** Whether the store's lack of lookups was logged: every lookup would say it again. */
    volatile boolean unsupportedLogged;

    /** Lookups run on {@code workers}: a store may be a remote server. */
    public UserdbService(Credentials credentials, Executor workers) {
        this(credentials, workers, Clock.SYSTEM);
    }

    /** Each lookup is due {@link AuthService#ANSWER_WITHIN} after its request arrived, on {@code clock}. */
    public UserdbService(Credentials credentials, Executor workers, Clock clock) {
        this.credentials = credentials;
        this.workers = workers;
        this.clock = clock;
    }

    /** A new client connection, answering through {@code out}; {@code peer} names it in the log. */
    public UserdbConnection connect(ReplyChannel out, Object peer) {
        return new UserdbConnection(this, out, peer);
    }
}
