package org.saslauth.os;

/**
 * The C library's system calls that saslauth makes itself, where Java 17 has no API for them
 * (a datagram socket of the UNIX domain, for syslog). Two ways in, picked at the first use
 * ({@link #get}) and never loaded before: JNA ({@link JnaLibc}), else the Foreign Function &amp;
 * Memory API on Java 22 and later, reached by reflection since saslauth compiles for Java 17
 * ({@link FfmLibc}). Each call returns what the C function returns, or {@code -errno} when it
 * fails, as the kernel itself does: no exception for an error a caller must expect.
 *
 * <p>libxcrypt's {@code crypt_rn} comes from {@code libcrypt.so.1}, opened with the binding: a
 * later function is one more method here and in the two bindings, through {@link FfmLibc}'s
 * downcall maker and JNA's {@code Function}.
 */
public abstract class Libc {

    /** {@code AF_UNIX} */
    public static final int AF_UNIX = 1;
    /** {@code SOCK_DGRAM} */
    public static final int SOCK_DGRAM = 2;
    /** {@code SOCK_CLOEXEC}: no program that saslauth runs inherits the socket */
    public static final int SOCK_CLOEXEC = 0x80000;
    /** {@code MSG_DONTWAIT}: EAGAIN rather than waiting when the receiver's queue is full */
    public static final int MSG_DONTWAIT = 0x40;
    /** {@code MSG_NOSIGNAL}: EPIPE rather than SIGPIPE */
    public static final int MSG_NOSIGNAL = 0x4000;

    /**
     * The binding of this JVM, or why there is none: made at the first {@link #get}. JNA first,
     * on every Java version: on JDK 25 a helper that sends to syslog and checks crypt hashes
     * held 22 MiB of PSS through JNA against 32 MiB through FFM (whose downcalls spin classes
     * of their own), started sooner, and its start-up cache was 3 MB smaller; FFM (Java 22 and
     * later) where JNA cannot load, such as a temporary directory mounted noexec without the
     * start-up cache's copy of JNA's native part.
     */
    private static final class Binding {
        static final Libc LIBC;
        static final String WHY_NOT;

        static {
            Libc libc = null;
            StringBuilder whyNot = new StringBuilder();
            String forced = System.getProperty("saslauth.native", "");
            if (!forced.equals("ffm")) {
                try {
                    libc = JnaLibc.load();
                } catch (Throwable e) {
                    whyNot.append(reason(e));
                }
            }
            if (libc == null && !forced.equals("jna")) {
                try {
                    libc = FfmLibc.load();
                } catch (Throwable e) {
                    whyNot.append(whyNot.length() == 0 ? "" : "; ").append(reason(e));
                }
            }
            LIBC = libc;
            WHY_NOT = libc == null ? whyNot.toString() : "";
        }

        private static String reason(Throwable e) {
            if (e instanceof Unavailable) {
                return e.getMessage();
            }
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            return cause.toString();
        }
    }

    /** Why a binding cannot be used here. */
    public static final class Unavailable extends Exception {
        private static final long serialVersionUID = 1L;

        public Unavailable(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * The C library of this JVM, through JNA, else through FFM on Java 22 and later when native
     * access is enabled (the jar's manifest enables it). The system property
     * {@code saslauth.native} ({@code ffm} or {@code jna}) picks one, for tests.
     *
     * @throws Unavailable saying why neither can be used
     */
    public static Libc get() throws Unavailable {
        if (Binding.LIBC == null) {
            throw new Unavailable(Binding.WHY_NOT);
        }
        return Binding.LIBC;
    }

    /** Which binding this is, for a debug line: {@code FFM} or {@code JNA 5.19.1}. */
    public abstract String kind();

    /** {@code socket(2)}: a descriptor, or {@code -errno}. */
    public abstract int socket(int domain, int type, int protocol);

    /** {@code connect(2)} to a {@code struct sockaddr} given as its bytes: 0, or {@code -errno}. */
    public abstract int connect(int fd, byte[] address);

    /** {@code send(2)} of {@code data[0..length)}: the bytes sent, or {@code -errno}. */
    public abstract long send(int fd, byte[] data, int length, int flags);

    /** {@code close(2)}: 0, or {@code -errno}. */
    public abstract int close(int fd);

    /** libxcrypt, in every Debian and Ubuntu ({@code libcrypt1}). */
    static final String LIBCRYPT = "libcrypt.so.1";

    /** {@code sizeof(struct crypt_data)} in libxcrypt: the work area of {@code crypt_rn}. */
    public static final int CRYPT_DATA_SIZE = 32768;

    /** {@code CRYPT_OUTPUT_SIZE}: the hash, NUL-terminated, at the start of the work area. */
    public static final int CRYPT_OUTPUT_SIZE = 384;

    /**
     * libxcrypt's {@code crypt_rn(phrase, setting, data, size)} from the system's
     * {@code libcrypt.so.1}: the hash {@code crypt(3)} makes of {@code phrase} (no NUL in it)
     * with {@code setting} (a salt and parameters, or a whole hash), or null when libxcrypt
     * refuses the setting. The work area, which holds a copy of the phrase, is wiped before it
     * is freed.
     *
     * @throws Unavailable when there is no libxcrypt with {@code crypt_rn} here
     */
    public abstract byte[] crypt(byte[] phrase, byte[] setting) throws Unavailable;

    /** The hash at the start of a work area: the bytes before its NUL. */
    static byte[] cryptOutput(byte[] output) {
        int n = 0;
        while (n < output.length && output[n] != 0) {
            n++;
        }
        return java.util.Arrays.copyOf(output, n);
    }

    /** The bytes of a {@code struct sockaddr_un} for {@code path} (Linux: a 16-bit family first). */
    public static byte[] unixAddress(byte[] path) {
        if (path.length > 107) {
            throw new IllegalArgumentException("a UNIX socket path of at most 107 bytes");
        }
        byte[] address = new byte[2 + path.length + 1];
        address[0] = (byte) AF_UNIX; // sa_family_t, little-endian on every Linux saslauth runs on
        address[1] = 0;
        System.arraycopy(path, 0, address, 2, path.length);
        return address;
    }
}
