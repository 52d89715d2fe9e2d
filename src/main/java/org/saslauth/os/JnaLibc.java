package org.saslauth.os;

import com.sun.jna.Function;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

/**
 * The C library through JNA, on Java 17 to 21, which have no FFM API. Only this class names
 * JNA's, so a JVM that never asks {@link Libc#get} for a binding loads none of them.
 *
 * <p>JNA's own native part ({@code libjnidispatch.so}) is in the jar for Linux only (pom.xml's
 * shade filters) and is unpacked at the first use. JNA would unpack it under
 * {@code ~/.cache/JNA}: a helper runs as Postfix's unprivileged user, whose home it may not
 * write, so unless {@code jna.tmpdir} is given it goes to {@code java.io.tmpdir} (/tmp), and
 * JNA deletes it at exit. {@code jna.nosys} stays JNA's default ({@code true}): a
 * {@code libjnidispatch.so} from elsewhere (Debian's libjna-jni) is another version, which JNA
 * would refuse. JNA reports through {@code java.util.logging}, whose console is
 * {@code System.err}: the log file, never smtpd's socket.
 */
final class JnaLibc extends Libc {

    private final Function socket;
    private final Function connect;
    private final Function send;
    private final Function close;

    /** libxcrypt's {@code crypt_rn}, or null with {@link #cryptWhyNot} saying why. */
    private final Function cryptRn;
    private final String cryptWhyNot;

    private JnaLibc(NativeLibrary c) {
        this.socket = c.getFunction("socket");
        this.connect = c.getFunction("connect");
        this.send = c.getFunction("send");
        this.close = c.getFunction("close");
        Function crypt = null;
        String whyNot = "";
        try {
            crypt = NativeLibrary.getInstance(LIBCRYPT).getFunction("crypt_rn");
        } catch (UnsatisfiedLinkError e) {
            whyNot = "no " + LIBCRYPT + " with crypt_rn (libxcrypt): " + e.getMessage();
        }
        this.cryptRn = crypt;
        this.cryptWhyNot = whyNot;
    }

    @Override
    public byte[] crypt(byte[] phrase, byte[] setting) throws Unavailable {
        if (cryptRn == null) {
            throw new Unavailable(cryptWhyNot);
        }
        try (com.sun.jna.Memory p = terminated(phrase); com.sun.jna.Memory s = terminated(setting);
             com.sun.jna.Memory data = new com.sun.jna.Memory(CRYPT_DATA_SIZE)) {
            try {
                data.clear();
                com.sun.jna.Pointer made = cryptRn.invokePointer(new Object[] {p, s, data, CRYPT_DATA_SIZE});
                return made == null ? null : cryptOutput(data.getByteArray(0, CRYPT_OUTPUT_SIZE));
            } finally {
                p.clear();
                data.clear();
            }
        }
    }

    /** {@code bytes} and a NUL in native memory. */
    private static com.sun.jna.Memory terminated(byte[] bytes) {
        com.sun.jna.Memory m = new com.sun.jna.Memory(bytes.length + 1L);
        m.write(0, bytes, 0, bytes.length);
        m.setByte(bytes.length, (byte) 0);
        return m;
    }

    static JnaLibc load() throws Unavailable {
        try {
            Class.forName("com.sun.jna.Native", false, JnaLibc.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new Unavailable("JNA is not on the class path");
        }
        if (System.getProperty("jna.tmpdir") == null) {
            System.setProperty("jna.tmpdir", System.getProperty("java.io.tmpdir"));
        }
        try {
            return new JnaLibc(NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
        } catch (UnsatisfiedLinkError e) {
            throw new Unavailable("JNA cannot load its native part or the C library: " + e.getMessage());
        }
    }

    @Override
    public String kind() {
        return "JNA " + Native.VERSION;
    }

    @Override
    public int socket(int domain, int type, int protocol) {
        return orErrno(socket.invokeInt(new Object[] {domain, type, protocol}));
    }

    @Override
    public int connect(int fd, byte[] address) {
        return orErrno(connect.invokeInt(new Object[] {fd, address, address.length}));
    }

    @Override
    public long send(int fd, byte[] data, int length, int flags) {
        long sent = send.invokeLong(new Object[] {fd, data, (long) length, flags});
        return sent < 0 ? -Native.getLastError() : sent;
    }

    @Override
    public int close(int fd) {
        return orErrno(close.invokeInt(new Object[] {fd}));
    }

    /** JNA keeps each thread's errno of its last call. */
    private static int orErrno(int result) {
        return result < 0 ? -Native.getLastError() : result;
    }
}
