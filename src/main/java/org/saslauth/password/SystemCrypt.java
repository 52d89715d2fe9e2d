package org.saslauth.password;

import static org.saslauth.Log.LOG;

import java.util.Optional;
import org.saslauth.os.Libc;

/**
 * crypt(3) hashes computed by the system's libxcrypt ({@code crypt_rn} in
 * {@code libcrypt.so.1}), as Dovecot's {@code CRYPT} schemes compute them: at C speed, and for
 * every hash libxcrypt knows, yescrypt ({@code $y$}, the default of Debian's {@code /etc/shadow}
 * since Debian 11), gost-yescrypt ({@code $gy$}) and scrypt ({@code $7$}) included, which no
 * Java code here computes. Reached through {@link Libc#get} (JNA, which loads faster than
 * FFM reached by reflection; FFM where JNA cannot load). Loading it takes a JVM some 15 to 60 ms
 * with the start-up cache, more without (JNA's classes and native part, or FFM's downcall
 * stubs), as long as the cold Java code takes
 * for one SHA-512 hash or longer: so it starts loading, on a thread of its own, as soon as a crypt
 * hash is read (a passwd file's line, {@code /etc/shadow}, a database's answer; {@link
 * #loadInTheBackground}), which in a helper is before its handshake is out, and a login that
 * comes before it is there waits for it rather than hashing in cold Java. A helper whose users
 * are {@code {PLAIN}} or Argon2 never loads it. Where it cannot be used the Java code computes
 * what it knows, and the log says once which one runs.
 */
final class SystemCrypt {

    /** The Java code alone, for the tests that compare both ({@code -Dsaslauth.crypt=java} too). */
    static volatile boolean javaOnly = "java".equals(System.getProperty("saslauth.crypt"));

    private SystemCrypt() {}

    /** Whether the binding has been looked for (its class initialised), successfully or not. */
    private static volatile boolean looked;
    private static final java.util.concurrent.atomic.AtomicBoolean LOADING = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * Starts looking for libxcrypt on a thread of its own, once: when a crypt hash is read, so
     * that the binding is there by the first login.
     */
    static void loadInTheBackground() {
        if (!looked && !javaOnly && LOADING.compareAndSet(false, true)) {
            Thread t = new Thread(SystemCrypt::available, "saslauth-libxcrypt");
            t.setDaemon(true);
            t.start();
        }
    }

    private static final java.util.concurrent.atomic.AtomicBoolean SAID = new java.util.concurrent.atomic.AtomicBoolean();

    /** Logs once, at error level, that a hash only libxcrypt computes could not be checked. */
    static void cannotCheck(String needs) {
        if (SAID.compareAndSet(false, true)) {
            LOG.error("{}, which cannot be used here: {}; such logins fail", needs, whyNot());
        }
    }

    /** Whether libxcrypt is known not to be usable here, without looking for it. */
    static boolean knownUnavailable() {
        return javaOnly || looked && Binding.LIBC == null;
    }

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
            } catch (Throwable e) { // whatever it is, the Java code computes, and the class stays usable
                libc = null;
                whyNot = e.toString();
                LOG.warn("crypt hashes computed in Java, libxcrypt failed: {}", whyNot);
            }
            LIBC = libc;
            WHY_NOT = whyNot;
            looked = true;
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
     * empty when the caller computes in Java: libxcrypt cannot be used here. Waits for it to
     * load the first time (a thread that is loading it already holds its class's initialisation).
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
