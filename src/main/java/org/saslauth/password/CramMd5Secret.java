package org.saslauth.password;

/**
 * A stored password that can serve CRAM-MD5 (RFC 2195): one that holds the password itself
 * ({@code {PLAIN}}) or its HMAC-MD5 key state ({@code {CRAM-MD5}}).
 */
public interface CramMd5Secret {

    /** HMAC-MD5 of {@code challenge} keyed with the password: what the client must answer. */
    byte[] digest(byte[] challenge);

    /** Whether the stored password is the empty one, which never logs in. */
    boolean emptyPassword();
}
