package org.saslauth.password;

import java.util.Arrays;

/**
 * What a SCRAM server needs to know of a user (RFC 5802, section 3): never the password, only
 * the salt and iteration count the client derives its SaltedPassword with, and the two keys
 * derived from it. The caller wipes them when done.
 */
public record ScramKeys(int iterations, byte[] salt, byte[] storedKey, byte[] serverKey) {

    public void wipe() {
        Arrays.fill(storedKey, (byte) 0);
        Arrays.fill(serverKey, (byte) 0);
    }
}
