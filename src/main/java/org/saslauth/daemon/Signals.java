package org.saslauth.daemon;

import static org.saslauth.Log.LOG;

import sun.misc.Signal;

/**
 * SIGTERM and SIGINT stop the daemon cleanly with status 0 (the JVM's own handling would run the
 * shutdown hooks and exit 143 without draining); SIGHUP, which would end the JVM, reads the
 * users again (the passwd file at once, however recent its change) and empties the auth cache.
 */
public final class Signals {

    private Signals() {}

    /** Installs the handlers; call before the sockets are bound, so that no SIGTERM finds the JVM's default. */
    public static void onStop(Runnable stop, Runnable reload) {
        Signal.handle(new Signal("TERM"), s -> {
            LOG.info("SIGTERM: stopping");
            stop.run();
        });
        Signal.handle(new Signal("INT"), s -> {
            LOG.info("SIGINT: stopping");
            stop.run();
        });
        Signal.handle(new Signal("HUP"), s -> {
            LOG.info("SIGHUP: reading the users again, emptying the cache");
            reload.run();
        });
    }
}
