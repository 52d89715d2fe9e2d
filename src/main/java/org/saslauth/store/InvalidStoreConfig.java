package org.saslauth.store;

/**
 * A passdb that cannot be used as configured: a bad option, a missing file, an unknown driver, a
 * server that cannot be reached at start. The message names the problem and never holds a secret.
 */
public final class InvalidStoreConfig extends Exception {
    public InvalidStoreConfig(String message) {
        super(message);
    }
}
