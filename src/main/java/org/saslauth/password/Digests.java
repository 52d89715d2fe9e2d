package org.saslauth.password;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Optional;

/** Plain message digests of the password, with or without a salt. */
final class Digests {

    private Digests() {}

    static byte[] digest(String algorithm, byte[]... parts) {
        if (algorithm.equals("MD4")) {
            // not in the JDK's providers
            org.bouncycastle.crypto.digests.MD4Digest md4 = new org.bouncycastle.crypto.digests.MD4Digest();
            for (byte[] p : parts) {
                md4.update(p, 0, p.length);
            }
            byte[] out = new byte[md4.getDigestSize()];
            md4.doFinal(out, 0);
            return out;
        }
        MessageDigest md;
        try {
            md = MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " missing from the JDK", e);
        }
        for (byte[] p : parts) {
            md.update(p);
        }
        return md.digest();
    }

    /**
     * {@code SHA}/{@code SHA1}, {@code SHA256}, {@code SHA512} (base64 by default),
     * {@code PLAIN-MD5} (hex), {@code LDAP-MD5} (base64), {@code PLAIN-MD4} (hex): the digest of
     * the password alone.
     */
    static final class Unsalted implements Scheme {
        private final String algorithm;
        private final Encoding encoding;
        private final int length;

        Unsalted(String algorithm, Encoding encoding, int length) {
            this.algorithm = algorithm;
            this.encoding = encoding;
            this.length = length;
        }

        @Override
        public Encoding encoding() {
            return encoding;
        }

        @Override
        public int rawLength() {
            return length;
        }

        @Override
        public Check check(byte[] raw, Optional<String> user) {
            return Scheme.byRegenerating(this, raw, user);
        }

        @Override
        public byte[] generate(byte[] password, Params params) {
            return digest(algorithm, password);
        }
    }

    /**
     * {@code SMD5}, {@code SSHA}, {@code SSHA256}, {@code SSHA512}: {@code digest(password + salt)}
     * followed by the salt, base64 by default. Dovecot makes 4-byte salts and reads any length.
     */
    static final class Salted implements Scheme {
        private static final int SALT_BYTES = 4;
        private final String name;
        private final String algorithm;
        private final int length;

        Salted(String name, String algorithm, int length) {
            this.name = name;
            this.algorithm = algorithm;
            this.length = length;
        }

        @Override
        public Encoding encoding() {
            return Encoding.BASE64;
        }

        @Override
        public Check check(byte[] raw, Optional<String> user) {
            if (raw.length <= length) {
                throw new IllegalArgumentException("{" + name + "} data too short to hold a salt");
            }
            byte[] hash = Arrays.copyOf(raw, length);
            byte[] salt = Arrays.copyOfRange(raw, length, raw.length);
            return password -> {
                byte[] made = digest(algorithm, password, salt);
                try {
                    return MessageDigest.isEqual(made, hash);
                } finally {
                    Arrays.fill(made, (byte) 0);
                }
            };
        }

        @Override
        public byte[] generate(byte[] password, Params params) {
            byte[] salt = Salts.bytes(SALT_BYTES);
            byte[] hash = digest(algorithm, password, salt);
            byte[] out = Arrays.copyOf(hash, length + SALT_BYTES);
            Arrays.fill(hash, (byte) 0);
            System.arraycopy(salt, 0, out, length, SALT_BYTES);
            return out;
        }
    }

    /**
     * {@code DIGEST-MD5} (RFC 2831): {@code MD5(user:realm:password)}, hex by default. A name
     * {@code user@realm} splits at its last {@code @}; a name without one has an empty realm.
     * Dovecot hashes the name as the client sent it; saslauth uses the name of the passwd-file
     * line, which is the same unless {@code --username-format} or {@code --default-realm} change it.
     */
    static final class DigestMd5 implements Scheme {
        static final DigestMd5 INSTANCE = new DigestMd5();

        private DigestMd5() {}

        @Override
        public Encoding encoding() {
            return Encoding.HEX;
        }

        @Override
        public int rawLength() {
            return 16;
        }

        @Override
        public Check check(byte[] raw, Optional<String> user) {
            if (user.isEmpty()) {
                throw new IllegalArgumentException("{DIGEST-MD5} needs the user name");
            }
            return Scheme.byRegenerating(this, raw, user);
        }

        @Override
        public byte[] generate(byte[] password, Params params) {
            String user = params.user().orElseThrow(
                    () -> new IllegalArgumentException("{DIGEST-MD5} needs a user name (--user)"));
            int at = user.lastIndexOf('@');
            String prefix = at < 0 ? user + "::" : user.substring(0, at) + ":" + user.substring(at + 1) + ":";
            // MD5 over the parts in turn, so that no joined copy of the password is left behind
            return digest("MD5", prefix.getBytes(StandardCharsets.UTF_8), password);
        }
    }
}
