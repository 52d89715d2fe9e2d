package org.saslauth.password;

/** A stored password as read from a passwd-file line, ready to check candidates against. */
public interface PasswordHash {

    /** The scheme name, upper case, as in {@code {SHA512-CRYPT}}. */
    String scheme();

    /** Whether {@code password} matches, compared in constant time. Does not keep the bytes. */
    boolean matches(byte[] password);
}
