package org.saslauth.os;

import com.sun.jna.Function;
import com.sun.jna.Memory;
import com.sun.jna.NativeLibrary;

/**
 * libsodium through JNA, for Argon2 ({@code crypto_pwhash}) on every Java version, as
 * {@link JnaLibc} reaches libxcrypt: {@code password/SodiumArgon2} uses it first, and the FFM API
 * (Java 22 and later) only where JNA cannot load. Loaded at the first Argon2 check, never before.
 */
public final class Sodium {

    private final NativeLibrary library;
    private final Function pwhash;

    private Sodium(NativeLibrary library) {
        this.library = library;
        this.pwhash = library.getFunction("crypto_pwhash");
    }

    /**
     * The first of {@code sonames} that loads, with {@code sodium_init()} called.
     *
     * @throws Libc.Unavailable when JNA, libsodium or one of its functions cannot be loaded
     */
    public static Sodium load(String... sonames) throws Libc.Unavailable {
        JnaLibc.prepareJna();
        JnaLibc.require64Bit(); // memlimit and the limits are size_t
        UnsatisfiedLinkError last = null;
        for (String name : sonames) {
            try {
                Sodium sodium = new Sodium(NativeLibrary.getInstance(name));
                int init = sodium.callInt("sodium_init");
                if (init != 0 && init != 1) {
                    throw new Libc.Unavailable("sodium_init() returned " + init);
                }
                return sodium;
            } catch (UnsatisfiedLinkError e) {
                last = e; // not found, or no such function: the next name
            } catch (LinkageError e) { // JNA's native part failed to load on another thread first
                throw new Libc.Unavailable("JNA cannot load its native part: " + e);
            }
        }
        throw new Libc.Unavailable("no libsodium (" + String.join(", ", sonames) + "; Debian's package libsodium23)"
                + (last == null ? "" : ": " + last.getMessage()));
    }

    /** A function of libsodium without arguments that returns an {@code int}. */
    public int callInt(String name) throws Libc.Unavailable {
        return function(name).invokeInt(new Object[0]);
    }

    /** A function of libsodium without arguments that returns a {@code size_t}. */
    public long callSize(String name) throws Libc.Unavailable {
        return function(name).invokeLong(new Object[0]);
    }

    private Function function(String name) throws Libc.Unavailable {
        try {
            return library.getFunction(name);
        } catch (UnsatisfiedLinkError e) {
            throw new Libc.Unavailable("libsodium has no " + name);
        }
    }

    /**
     * {@code crypto_pwhash(out, out.length, password, password.length, salt, passes, memoryBytes,
     * alg)}: its result, 0 when {@code out} holds the hash. The password and the hash are copied
     * to native memory that is wiped before it is freed.
     */
    public int pwhash(byte[] out, byte[] password, byte[] salt, long passes, long memoryBytes, int alg) {
        // at least one byte: a zero-length Memory has no address of its own
        try (Memory made = new Memory(out.length);
             Memory passwd = new Memory(Math.max(1, password.length));
             Memory saltCopy = new Memory(salt.length)) {
            try {
                passwd.write(0, password, 0, password.length);
                saltCopy.write(0, salt, 0, salt.length);
                int status = pwhash.invokeInt(new Object[] {made, (long) out.length, passwd,
                    (long) password.length, saltCopy, passes, memoryBytes, alg});
                if (status == 0) {
                    made.read(0, out, 0, out.length);
                }
                return status;
            } finally {
                passwd.clear();
                made.clear();
            }
        }
    }
}
