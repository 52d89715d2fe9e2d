package org.saslauth.os;

import com.sun.jna.Function;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

/**
 * The C library through JNA, on every Java version ({@link Libc#get}). Only this class, Pam and
 * Sodium name JNA's, so a JVM that never asks for a binding loads none of them. 64-bit only:
 * {@code size_t} and {@code ssize_t} are Java {@code long}s here.
 *
 * <p>JNA's own native part ({@code libjnidispatch.so}) is in the jar for Linux only (pom.xml's
 * shade filters). {@code saslauth cds} unpacks it once beside the start-up cache, named by
 * JNA's native version ({@code libjnidispatch-7.0.4.so}), and the launcher names that
 * directory ({@code saslauth.jna-dir}): JNA loads that file when it is there and can be trusted
 * (see {@link #prepare}), which spares each helper some 25 to 35 ms of its first crypt hash.
 * Else JNA unpacks it at the first use: it would do so under {@code ~/.cache/JNA}, but a helper
 * runs as Postfix's unprivileged user, whose home it may not write, so unless {@code jna.tmpdir}
 * is given it goes to {@code java.io.tmpdir} (/tmp), and JNA deletes it at exit.
 * {@code jna.nosys} stays JNA's default ({@code true}): a {@code libjnidispatch.so} from
 * elsewhere (Debian's libjna-jni) is another version, which JNA would refuse. JNA reports
 * through {@code java.util.logging}, whose console is {@code System.err}: the log file, never
 * smtpd's socket.
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

    /** glibc's C library by its soname, as every Linux with glibc has it since 1997. */
    private static final String C_LIBRARY = "libc.so.6";

    /** The C library: by glibc's soname, else by JNA's name for it ({@code c}), as on a libc other than glibc. */
    static NativeLibrary cLibrary() {
        try {
            return NativeLibrary.getInstance(C_LIBRARY);
        } catch (UnsatisfiedLinkError e) {
            return NativeLibrary.getInstance(Platform.C_LIBRARY_NAME);
        }
    }

    /** JNA's native part as {@code saslauth cds} unpacks it: named by the version this jar's JNA needs. */
    static final String DISPATCH_NAME = "jnidispatch-" + Native.VERSION_NATIVE; // a constant: Native stays unloaded

    /**
     * Where JNA finds its native part, set before JNA loads: the copy in the directory
     * {@code saslauth.jna-dir} when it is a regular file (not a link) owned by root or by this
     * process's user and writable by no one else, in a directory of the same kind; else JNA's
     * unpacking into {@code jna.tmpdir}, {@code java.io.tmpdir} unless given. With
     * {@code saslauth.jna-unpack=true} ({@code saslauth cds}) the copy is written first, and
     * those of other versions removed. A copy that does not load is passed over by JNA, which
     * then unpacks its own. Synchronized: the threads that may load JNA first (libxcrypt's, PAM's,
     * syslog's) start at once in a helper, and none may load it before the copy is named.
     */
    static synchronized void prepare() {
        if (System.getProperty("jna.tmpdir") == null) {
            System.setProperty("jna.tmpdir", System.getProperty("java.io.tmpdir"));
        }
        if (System.getProperty("jna.platform.library.path") == null) {
            // Every library here is opened by its soname (library()), which the system's loader
            // finds as it does for any program: JNA's own search path is not needed, and making
            // it runs /sbin/ldconfig -p, a process of its own, in each helper (some 10 to 30 ms).
            System.setProperty("jna.platform.library.path", "");
        }
        String dir = System.getProperty("saslauth.jna-dir", "");
        if (dir.isEmpty() || System.getProperty("jna.boot.library.path") != null) {
            return;
        }
        try {
            java.nio.file.Path folder = java.nio.file.Path.of(dir);
            java.nio.file.Path file = folder.resolve(System.mapLibraryName(DISPATCH_NAME));
            if (Boolean.getBoolean("saslauth.jna-unpack")) {
                unpack(folder, file);
            }
            if (trusted(file, 0100000) && trusted(folder, 0040000)) {
                // The name first: a thread that finds the path set loads JNA at once, and without
                // the name JNA would look for libjnidispatch.so there, then unpack its own.
                System.setProperty("jna.boot.library.name", DISPATCH_NAME);
                System.setProperty("jna.boot.library.path", dir);
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not there, or not to be trusted: JNA unpacks its own
        }
    }

    /** Whether {@code path} is of {@code type} (the file-type bits of st_mode), owned by root or us, written by no other. */
    private static boolean trusted(java.nio.file.Path path, int type) throws java.io.IOException {
        java.util.Map<String, Object> a = java.nio.file.Files.readAttributes(path, "unix:uid,mode",
                java.nio.file.LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        int uid = (Integer) a.get("uid");
        if ((mode & 0170000) != type || (mode & 0022) != 0) {
            return false;
        }
        return uid == 0 || uid == (Integer) java.nio.file.Files.getAttribute(java.nio.file.Path.of("/proc/self"),
                "unix:uid");
    }

    /** Writes the jar's {@code libjnidispatch.so} to {@code file} (through a file moved into place), 0644. */
    private static void unpack(java.nio.file.Path folder, java.nio.file.Path file) throws java.io.IOException {
        String resource = "/com/sun/jna/" + com.sun.jna.Platform.RESOURCE_PREFIX + "/libjnidispatch.so";
        java.nio.file.Path part = folder.resolve(file.getFileName() + ".new." + ProcessHandle.current().pid());
        try (java.io.InputStream in = JnaLibc.class.getResourceAsStream(resource)) {
            if (in == null) {
                return;
            }
            java.nio.file.Files.deleteIfExists(part);
            java.nio.file.Files.copy(in, part);
            java.nio.file.Files.setPosixFilePermissions(part,
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            java.nio.file.Files.move(part, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } finally {
            java.nio.file.Files.deleteIfExists(part);
        }
        String mine = file.getFileName().toString();
        try (java.nio.file.DirectoryStream<java.nio.file.Path> old = java.nio.file.Files.newDirectoryStream(folder,
                System.mapLibraryName("jnidispatch-*"))) {
            for (java.nio.file.Path p : old) {
                if (!p.getFileName().toString().equals(mine)) {
                    java.nio.file.Files.deleteIfExists(p);
                }
            }
        }
    }

    /** JNA on the class path, and {@link #prepare}d: what every binding through it does first. */
    static void prepareJna() throws Unavailable {
        try {
            Class.forName("com.sun.jna.Native", false, JnaLibc.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new Unavailable("JNA is not on the class path");
        }
        prepare();
    }

    /**
     * JNA's native part loaded, on a 64-bit JVM: {@code size_t} and {@code ssize_t} are passed
     * as Java {@code long}s, which on 32 bits would shift the arguments after them.
     */
    static void require64Bit() throws Unavailable {
        try {
            if (Native.SIZE_T_SIZE != 8) {
                throw new Unavailable("size_t is " + Native.SIZE_T_SIZE + " bytes here (8 expected)");
            }
        } catch (LinkageError e) { // JNA's native part did not load
            throw new Unavailable("JNA cannot load its native part: " + e);
        }
    }

    static JnaLibc load() throws Unavailable {
        prepareJna();
        require64Bit();
        try {
            return new JnaLibc(cLibrary());
        } catch (UnsatisfiedLinkError e) {
            throw new Unavailable("JNA cannot load its native part or the C library: " + e.getMessage());
        } catch (LinkageError e) { // JNA's native part failed to load on another thread first
            throw new Unavailable("JNA cannot load its native part: " + e);
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
