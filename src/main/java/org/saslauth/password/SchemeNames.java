package org.saslauth.password;

import java.util.List;
import java.util.Optional;

/**
 * Dovecot's scheme names and what each one is. An entry is made when a name is looked up, so that
 * loading a passwd file touches only the schemes it uses.
 */
final class SchemeNames {

    /** Every name {@code saslauth hash} can make, in the order {@code --help} shows them. */
    static final List<String> HASHABLE = List.of(
            "SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "ARGON2ID", "ARGON2I", "PBKDF2",
            "MD5-CRYPT", "MD5", "CRYPT", "DES-CRYPT",
            "SSHA512", "SSHA256", "SSHA", "SMD5", "SHA512", "SHA256", "SHA", "SHA1",
            "PLAIN-MD5", "LDAP-MD5", "PLAIN-MD4",
            "SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "HMAC-MD5", "DIGEST-MD5",
            "PLAIN", "CLEAR", "CLEARTEXT");

    private SchemeNames() {}

    /** The scheme of an upper-case name without encoding suffix. */
    static Optional<Scheme> lookup(String name) {
        Scheme scheme = switch (name) {
            case "PLAIN", "CLEAR", "CLEARTEXT" -> Plaintext.INSTANCE;
            case "PLAIN-TRUNC" -> Plaintext.Truncated.INSTANCE;
            // this Dovecot (2.3, libxcrypt) makes bcrypt for CRYPT; DES-CRYPT is the old one
            case "CRYPT" -> new CryptHashes(name, CryptHashes.Maker.BCRYPT, false);
            case "DES-CRYPT" -> new CryptHashes(name, CryptHashes.Maker.DES, false);
            case "MD5-CRYPT" -> new CryptHashes(name, CryptHashes.Maker.MD5, false);
            case "SHA256-CRYPT" -> new CryptHashes(name, CryptHashes.Maker.SHA256, false);
            case "SHA512-CRYPT" -> new CryptHashes(name, CryptHashes.Maker.SHA512, false);
            case "BLF-CRYPT" -> new CryptHashes(name, CryptHashes.Maker.BCRYPT, true);
            case "MD5" -> CryptHashes.Md5.INSTANCE;
            case "ARGON2I" -> new Argon2(name, "argon2i", 4, 32 * 1024, 3);
            case "ARGON2ID" -> new Argon2(name, "argon2id", 3, 64 * 1024, 1);
            case "PBKDF2" -> Pbkdf2.INSTANCE;
            case "SHA", "SHA1" -> new Digests.Unsalted("SHA-1", Encoding.BASE64, 20);
            case "SHA256" -> new Digests.Unsalted("SHA-256", Encoding.BASE64, 32);
            case "SHA512" -> new Digests.Unsalted("SHA-512", Encoding.BASE64, 64);
            case "PLAIN-MD5" -> new Digests.Unsalted("MD5", Encoding.HEX, 16);
            case "LDAP-MD5" -> new Digests.Unsalted("MD5", Encoding.BASE64, 16);
            case "PLAIN-MD4" -> new Digests.Unsalted("MD4", Encoding.HEX, 16);
            case "SMD5" -> new Digests.Salted(name, "MD5", 16);
            case "SSHA" -> new Digests.Salted(name, "SHA-1", 20);
            case "SSHA256" -> new Digests.Salted(name, "SHA-256", 32);
            case "SSHA512" -> new Digests.Salted(name, "SHA-512", 64);
            case "DIGEST-MD5" -> Digests.DigestMd5.INSTANCE;
            case "CRAM-MD5", "HMAC-MD5" -> CramMd5.INSTANCE;
            case "SCRAM-SHA-1" -> Scram.SHA1;
            case "SCRAM-SHA-256" -> Scram.SHA256;
            default -> null;
        };
        return Optional.ofNullable(scheme);
    }
}
