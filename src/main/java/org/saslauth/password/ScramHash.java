package org.saslauth.password;

/** The hash functions SCRAM is used with here: SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677). */
public enum ScramHash {
    SHA_1("SCRAM-SHA-1", "SHA-1", "HmacSHA1", 20),
    SHA_256("SCRAM-SHA-256", "SHA-256", "HmacSHA256", 32);

    private final String mechanism;
    private final String digest;
    private final String hmac;
    private final int length;

    ScramHash(String mechanism, String digest, String hmac, int length) {
        this.mechanism = mechanism;
        this.digest = digest;
        this.hmac = hmac;
        this.length = length;
    }

    /** The SASL mechanism name, which is also the password scheme name. */
    public String mechanism() {
        return mechanism;
    }

    /** The JCA name of H. */
    public String digest() {
        return digest;
    }

    /** The JCA name of HMAC-H. */
    public String hmac() {
        return hmac;
    }

    /** Bytes of H's output, so of StoredKey, ServerKey and a proof. */
    public int length() {
        return length;
    }
}
