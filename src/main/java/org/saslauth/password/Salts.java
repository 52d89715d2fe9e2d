package org.saslauth.password;

import java.security.SecureRandom;

/** Random salts in crypt(3)'s alphabet, as Dovecot's {@code password_generate_salt()} makes. */
final class Salts {

    private static final char[] CHARS =
            "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();

    private Salts() {}

    static String text(int length) {
        SecureRandom random = new SecureRandom();
        char[] salt = new char[length];
        for (int i = 0; i < length; i++) {
            salt[i] = CHARS[random.nextInt(CHARS.length)];
        }
        return new String(salt);
    }

    static byte[] bytes(int length) {
        byte[] salt = new byte[length];
        new SecureRandom().nextBytes(salt);
        return salt;
    }
}
