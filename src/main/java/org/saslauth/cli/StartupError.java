package org.saslauth.cli;

/** A configuration that cannot be served: exit status 3, with the reason. */
final class StartupError extends Exception {
    StartupError(String message) {
        super(message);
    }
}
