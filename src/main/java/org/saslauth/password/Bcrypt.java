package org.saslauth.password;

import java.util.Arrays;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;

/**
 * bcrypt through Bouncy Castle. Like crypt(3), it reads at most 72 bytes of the password; longer
 * ones are cut here so that Bouncy Castle never sees more.
 */
final class Bcrypt {

    private static final int MAX_PASSWORD = 72;

    private Bcrypt() {}

    static boolean matches(String hash, byte[] password) {
        byte[] cut = Arrays.copyOf(password, Math.min(password.length, MAX_PASSWORD));
        try {
            return OpenBSDBCrypt.checkPassword(hash, cut);
        } catch (RuntimeException e) {
            return false;
        } finally {
            Arrays.fill(cut, (byte) 0);
        }
    }

    static String generate(byte[] password, int cost) {
        byte[] cut = Arrays.copyOf(password, Math.min(password.length, MAX_PASSWORD));
        try {
            return OpenBSDBCrypt.generate("2y", cut, Salts.bytes(16), cost);
        } finally {
            Arrays.fill(cut, (byte) 0);
        }
    }
}
