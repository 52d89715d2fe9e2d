package org.saslauth.protocol;

/**
 * A server whose exchange steps run on the reading thread, so that replies come in the order of
 * the requests: for golden transcripts and models of the whole session. The real executors are
 * exercised by {@link AuthServerTest}.
 */
public final class Inline {

    private Inline() {}

    public static AuthServer server(Settings settings) {
        return new AuthServer(new AuthService(settings, Scheduler.system(), Runnable::run));
    }
}
