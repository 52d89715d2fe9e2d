package org.saslauth.password;

import static org.saslauth.Log.LOG;

import java.util.Optional;
import org.saslauth.os.Libc;

/**
 * crypt(3) hashes computed by the system's libxcrypt ({@code crypt_rn} in
 * {@code libcrypt.so.1}), as Dovecot's {@code CRYPT} schemes compute them: at C speed, and for
 * every hash libxcrypt knows, yescrypt ({@code $y$}, the default of Debian's {@code /etc/shadow}
 * since Debian 11), gost-yescrypt ({@code $gy$}) and scrypt ({@code $7$}) included, which no
 * Java code here computes. Reached through {@link Libc} (FFM on Java 22 and later, JNA before),
 * loaded at the first crypt hash checked, never at start: a helper that checks none loads no
 * native code. Where it cannot be used the Java code computes what it knows, and the first
 * check says once in the log which one runs.
 */
final class SystemCrypt {

    /** The Java code alone, for the tests that compare both ({@code -Dsaslauth.crypt=java} too). */
    static volatile boolean javaOnly = "java".equals(System.getProperty("saslauth.crypt"));

    private SystemCrypt() {}

    /** The binding, or why there is none: looked for at the first use. */
    private static final class Binding {
        static final Libc LIBC;
        static final String WHY_NOT;

        static {
            Libc libc = null;
            String whyNot = "";
            try {
                libc = Libc.get();
                libc.crypt(new byte[] {'x'}, new byte[] {'$', '1', '$'}); // crypt_rn is there
                LOG.debug("crypt hashes through the system's libxcrypt ({})", libc.kind());
            } catch (Libc.Unavailable e) {
                libc = null;
                whyNot = e.getMessage();
                LOG.info("crypt hashes computed in Java, not by libxcrypt: {}", whyNot);
            } catch (RuntimeException | LinkageError e) {
                libc = null;
                whyNot = e.toString();
                LOG.warn("crypt hashes computed in Java, libxcrypt failed: {}", whyNot);
            }
            LIBC = libc;
            WHY_NOT = whyNot;
        }
    }

    /** Whether libxcrypt computes crypt hashes here (looking for it the first time). */
    static boolean available() {
        return !javaOnly && Binding.LIBC != null;
    }

    /** Why libxcrypt cannot be used here, or empty. */
    static String whyNot() {
        return javaOnly ? "the Java code was chosen (saslauth.crypt=java)" : Binding.WHY_NOT;
    }

    /**
     * The hash libxcrypt makes of {@code password} with {@code setting} (a stored hash), an
     * empty array when it refuses the setting (no password matches then, as in Dovecot), or
     * empty when libxcrypt cannot be used here and the caller computes in Java.
     */
    static Optional<byte[]> hash(byte[] password, byte[] setting) {
        if (!available()) {
            return Optional.empty();
        }
        for (byte b : password) {
            if (b == 0) { // crypt(3) would stop at it: refused before, never matched here
                return Optional.of(new byte[0]);
            }
        }
        try {
            byte[] made = Binding.LIBC.crypt(password, setting);
            return Optional.of(made == null ? new byte[0] : made);
        } catch (Libc.Unavailable e) {
            return Optional.empty();
        }
    }
}
