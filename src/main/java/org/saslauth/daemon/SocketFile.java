package org.saslauth.daemon;

import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.saslauth.Pid;

/**
 * A listening UNIX-domain socket file, as Dovecot's {@code unix_listener} makes one: mode, owner
 * and group set before a client can reach it, a stale file from a crashed server replaced, a
 * live server left alone, and the file removed at exit if it is still this server's.
 *
 * <p><b>Where the owner, group and mode are set.</b> Java cannot set the umask, Linux ignores
 * {@code fchmod} on a socket descriptor, and Java's no-follow attribute calls open the file,
 * which a socket refuses ({@code ENXIO}); so they are set by path, and that path must be one no
 * other account can swap. The socket's own directory is often not such a place: Postfix's
 * {@code private/} belongs to postfix, which could rename the new socket away and leave a
 * symbolic link to a file of root's in its place, to be given the socket's owner and mode. So
 * the socket is bound in a fresh 0700 directory ({@code .saslauth.PID.RANDOM}) made in a
 * <i>staging</i> directory: the deepest directory on the way from {@code /} to the socket's
 * that is on the same filesystem (rename(2) cannot cross one) and that, like every directory
 * above it, belongs to root or to this process's user and is not group- or other-writable
 * ({@code /var/spool/postfix} for {@code private/saslauth}; the socket's directory itself when
 * it qualifies; never below a sticky {@code /tmp}, which everyone may write). There its owner,
 * group and mode are set, then it is renamed into place, and the private directory removed,
 * whatever failed. The rename goes through directory descriptors opened from the staging
 * directory down without following a symbolic link ({@code renameat}), so a directory swapped
 * below the staging directory cannot send the socket, or its replacing of a name, elsewhere.
 *
 * <p>Without a staging directory, root refuses ({@link Unusable}, saying what to fix). Another
 * user binds in place, under {@code .NAME.PID.new} in the socket's directory, as a privilege
 * it does not have cannot be abused: at worst a writer of that directory turns the new name
 * into a link, and the daemon's user changes the mode of one of its own files.
 */
public final class SocketFile {

    /** The socket cannot be made: another server listens there, or the path is something else. */
    public static final class Unusable extends Exception {
        Unusable(String message) {
            super(message);
        }
    }

    /** How clients may reach the socket: {@code --socket-mode}, {@code --socket-user}, {@code --socket-group}. */
    public record Access(Set<PosixFilePermission> mode, String user, String group) {}

    /** The longest path a socket can be bound to: {@code sun_path} is 108 bytes, the NUL included. */
    private static final int MAX_SOCKET_PATH = 107;

    /** The socket's directory that the Debian package makes inside smtpd's chroot, for a daemon without systemd. */
    static final String POSTFIX_DIR = "/var/spool/postfix/saslauth";

    private static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rwx------");

    private final Path path;
    private final Object fileKey;
    private final ServerSocketChannel channel;

    private SocketFile(Path path, Object fileKey, ServerSocketChannel channel) {
        this.path = path;
        this.fileKey = fileKey;
        this.channel = channel;
    }

    public ServerSocketChannel channel() {
        return channel;
    }

    /** The socket file, its directory's path resolved (no symbolic link). */
    public Path path() {
        return path;
    }

    /**
     * Binds the socket file {@code path}, with {@code access} set before it appears there.
     *
     * @throws Unusable when a server listens on it, it is not a socket, the user or group is
     *     unknown, or (as root) there is no directory to stage it in
     */
    public static SocketFile bind(Path path, Access access) throws Unusable, IOException {
        Path name = path.getFileName();
        Path parent = path.toAbsolutePath().getParent();
        if (name == null || parent == null) {
            throw new Unusable(path + " is not a file name");
        }
        int euid = effectiveUid();
        Path dir;
        try {
            dir = parent.toRealPath();
        } catch (AccessDeniedException e) {
            throw notPermitted(path, parent.normalize(), euid, e);
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new Unusable(parent + " is not a directory");
        }
        Path target = dir.resolve(name);
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            if (!isSocket(target)) {
                throw new Unusable(path + " exists and is not a socket");
            }
            if (isLive(target)) {
                throw new Unusable("another server is listening on " + path);
            }
            // stale: nothing listens; replaced by the rename
        }
        try {
            Path staging = stagingDirectory(dir, name, euid);
            if (staging != null) {
                return bindStaged(staging, dir, name, access);
            }
            if (euid != 0) {
                return bindInPlace(dir, name, access);
            }
        } catch (AccessDeniedException | BindException e) { // bind(2) in a directory it may not write: EACCES
            throw notPermitted(path, dir, euid, e);
        }
        throw new Unusable("no directory on the path to " + dir + " that only root can write is on its"
                + " filesystem (root's, not group- or other-writable, and so is every directory above it), so"
                + " the owner, group and mode of " + path + " cannot be set out of other users' reach; make"
                + " the socket's directory, or one above it on its filesystem, such a directory (as"
                + " /var/spool/postfix is for private/), or run the daemon as another user than root");
    }

    /**
     * The refusal of the kernel as one line that says which directory, whose it is and what to
     * do: run as its own user, the daemon meets Postfix's {@code private/} (postfix's, 0700),
     * and an {@code AccessDeniedException} naming a temporary file tells an administrator
     * nothing. The directory is the first on the way to {@code dir} that {@code euid} may not
     * search, or {@code dir} if it may not write there; by the mode bits alone, so with an ACL
     * in the way the kernel's own words are given instead.
     */
    static Unusable notPermitted(Path socket, Path dir, int euid, IOException e) throws IOException {
        String why = "cannot create " + socket + ": ";
        Set<Integer> groups = groups();
        Path d = dir.getRoot();
        for (int i = 0; ; i++) {
            boolean last = i == dir.getNameCount();
            if (!permits(d, euid, groups, last ? 03 : 01)) {
                Map<String, Object> a = Files.readAttributes(d, "unix:owner,group,mode", LinkOption.NOFOLLOW_LINKS);
                return new Unusable(why + "directory " + d + " is owned by " + ((UserPrincipal) a.get("owner")).getName()
                        + ":" + ((GroupPrincipal) a.get("group")).getName() + " mode "
                        + String.format("%04o", (Integer) a.get("mode") & 07777) + " and saslauth runs as "
                        + userName(euid) + "; " + advice(socket));
            }
            if (last) {
                return new Unusable(why + e + " and saslauth runs as " + userName(euid) + "; " + advice(socket));
            }
            d = d.resolve(dir.getName(i));
        }
    }

    private static String advice(Path socket) {
        return socket.toAbsolutePath().startsWith("/var/spool/postfix")
                ? "use " + POSTFIX_DIR + "/auth (" + POSTFIX_DIR + ": the package makes it, owned by saslauth:postfix"
                        + " mode 0750) or run the daemon from its systemd socket unit"
                : "give the socket a directory that this user may write, or run the daemon from its systemd socket unit";
    }

    /**
     * Whether the mode bits of {@code d} give {@code euid} with {@code groups} the {@code want}
     * bits (2 write, 1 search), as the kernel picks owner, group or other; root may do anything.
     */
    private static boolean permits(Path d, int euid, Set<Integer> groups, int want) throws IOException {
        if (euid == 0) {
            return true;
        }
        Map<String, Object> a = Files.readAttributes(d, "unix:uid,gid,mode", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        int bits = (Integer) a.get("uid") == euid ? mode >> 6 : groups.contains((Integer) a.get("gid")) ? mode >> 3 : mode;
        return (bits & want) == want;
    }

    /** The effective and the supplementary group ids, from {@code /proc/self/status}; none if it cannot be read. */
    private static Set<Integer> groups() {
        Set<Integer> ids = new java.util.HashSet<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.US_ASCII)) {
                if (line.startsWith("Gid:")) {
                    ids.add(Integer.parseInt(line.substring(4).strip().split("\\s+")[1]));
                } else if (line.startsWith("Groups:") && !line.substring(7).isBlank()) {
                    for (String g : line.substring(7).strip().split("\\s+")) {
                        ids.add(Integer.parseInt(g));
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // every directory judged by its "other" bits
        }
        return ids;
    }

    /** The user's name from /etc/passwd, as {@code ls} shows an owner; the number if there is none. */
    private static String userName(int uid) {
        try {
            for (String line : Files.readAllLines(Path.of("/etc/passwd"), StandardCharsets.UTF_8)) {
                String[] f = line.split(":", 4);
                if (f.length > 2 && f[2].equals(Integer.toString(uid))) {
                    return f[0];
                }
            }
        } catch (IOException | RuntimeException e) {
            // the number
        }
        return Integer.toString(uid);
    }

    /** Binds in a private directory made in {@code staging}, sets the access there, and renames into {@code dir}. */
    private static SocketFile bindStaged(Path staging, Path dir, Path name, Access access)
            throws Unusable, IOException {
        Path privateDir = createPrivateDirectory(staging);
        Path staged = privateDir.resolve(name);
        ServerSocketChannel ch = null;
        boolean done = false;
        try {
            ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            ch.bind(UnixDomainSocketAddress.of(staged), 512);
            // By path, following links: nobody else can reach a name in the private directory.
            setAccess(staged, access);
            Object key = fileKey(staged); // a rename keeps the inode
            renameInto(staging, privateDir.getFileName(), name, staging.relativize(dir));
            done = true;
            return new SocketFile(dir.resolve(name), key, ch);
        } finally {
            if (!done && ch != null) {
                ch.close();
            }
            deleteQuietly(staged);
            deleteQuietly(privateDir);
        }
    }

    /** Binds under a temporary name in {@code dir} itself, then renames: for a user other than root only. */
    private static SocketFile bindInPlace(Path dir, Path name, Access access) throws Unusable, IOException {
        Path tmp = dir.resolve("." + name + "." + Pid.CURRENT + ".new");
        Files.deleteIfExists(tmp);
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.bind(UnixDomainSocketAddress.of(tmp), 512);
            setAccess(tmp, access);
            Path target = dir.resolve(name);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return new SocketFile(target, fileKey(target), ch);
        } catch (IOException | Unusable | RuntimeException e) {
            ch.close();
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /**
     * The deepest directory from {@code /} down to {@code dir} that is on {@code dir}'s
     * filesystem and where a socket named {@code name} in a private directory still fits in
     * {@code sun_path}, among those that, as each above them, belong to root or to {@code euid}
     * and are not group- or other-writable, and that belong to {@code euid} itself (where it may
     * make the private directory); null if there is none.
     */
    static Path stagingDirectory(Path dir, Path name, int euid) throws IOException {
        Object dev = Files.getAttribute(dir, "unix:dev", LinkOption.NOFOLLOW_LINKS);
        List<Path> candidates = new ArrayList<>();
        Path d = dir.getRoot();
        for (int i = 0; ; i++) {
            Map<String, Object> a = Files.readAttributes(d, "unix:uid,mode,dev", LinkOption.NOFOLLOW_LINKS);
            int uid = (Integer) a.get("uid");
            int mode = (Integer) a.get("mode");
            boolean onlyOwnerWrites = (mode & 0170000) == 0040000 && (mode & 0022) == 0;
            if (!onlyOwnerWrites || (uid != 0 && uid != euid)) {
                break;
            }
            if (dev.equals(a.get("dev")) && uid == euid) { // a directory of root's alone is no place for another user
                candidates.add(d);
            }
            if (i == dir.getNameCount()) {
                break;
            }
            d = d.resolve(dir.getName(i));
        }
        for (int i = candidates.size() - 1; i >= 0; i--) {
            Path staged = candidates.get(i).resolve(privateName(Integer.MAX_VALUE)).resolve(name);
            if (staged.toString().getBytes(StandardCharsets.UTF_8).length <= MAX_SOCKET_PATH) {
                return candidates.get(i);
            }
        }
        return null;
    }

    /** {@code .saslauth.PID.RANDOM}, eight hexadecimal digits of RANDOM. */
    private static String privateName(int random) {
        return ".saslauth." + Pid.CURRENT + "." + String.format("%08x", random);
    }

    /** A new directory only this user can enter, made 0700 by mkdir(2) itself (a umask only takes bits away). */
    private static Path createPrivateDirectory(Path staging) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path p = staging.resolve(privateName(ThreadLocalRandom.current().nextInt()));
            try {
                return Files.createDirectory(p, PosixFilePermissions.asFileAttribute(PRIVATE));
            } catch (FileAlreadyExistsException e) {
                if (attempt == 10) {
                    throw e;
                }
            }
        }
    }

    /**
     * Renames {@code staging/privateDir/name} to {@code staging/below/name} with renameat(2) on
     * directories opened one by one from {@code staging}, none through a symbolic link.
     */
    private static void renameInto(Path staging, Path privateDir, Path name, Path below)
            throws Unusable, IOException {
        Deque<DirectoryStream<Path>> open = new ArrayDeque<>();
        try {
            DirectoryStream<Path> top = Files.newDirectoryStream(staging);
            open.push(top);
            if (!(top instanceof SecureDirectoryStream<Path> from)) {
                throw new IOException("no directory descriptors (openat, renameat) on this platform");
            }
            SecureDirectoryStream<Path> into = from;
            from = from.newDirectoryStream(privateDir, LinkOption.NOFOLLOW_LINKS);
            open.push(from);
            for (Path component : below) {
                if (component.toString().isEmpty()) {
                    continue; // staging is the socket's directory itself
                }
                into = into.newDirectoryStream(component, LinkOption.NOFOLLOW_LINKS);
                open.push(into);
            }
            from.move(name, into, name);
        } catch (AtomicMoveNotSupportedException e) {
            throw new Unusable("cannot rename the socket from " + staging + " into " + staging.resolve(below)
                    + ": not the same mount (a bind mount?)");
        } finally {
            while (!open.isEmpty()) {
                open.pop().close();
            }
        }
    }

    private static void setAccess(Path file, Access access) throws Unusable, IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
        UserPrincipalLookupService users = file.getFileSystem().getUserPrincipalLookupService();
        if (access.user() != null) {
            view.setOwner(lookup(users, access.user(), false));
        }
        if (access.group() != null) {
            view.setGroup((GroupPrincipal) lookup(users, access.group(), true));
        }
        view.setPermissions(access.mode());
    }

    private static UserPrincipal lookup(UserPrincipalLookupService users, String name, boolean group)
            throws Unusable, IOException {
        try {
            return group ? users.lookupPrincipalByGroupName(name) : users.lookupPrincipalByName(name);
        } catch (UserPrincipalNotFoundException e) {
            throw new Unusable("no such " + (group ? "group" : "user") + ": " + name);
        }
    }

    private static Object fileKey(Path file) throws IOException {
        return Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // left behind; nothing else to do about it
        }
    }

    /**
     * The effective user id, from {@code /proc/self/status} (its {@code Uid:} line: real,
     * effective, saved, filesystem); the owner of {@code /proc/self} if that cannot be read.
     */
    static int effectiveUid() throws IOException {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.US_ASCII)) {
                if (line.startsWith("Uid:")) {
                    return Integer.parseInt(line.substring(4).strip().split("\\s+")[1]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // below
        }
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }

    /** Removes the file if it is still the one this server bound (not a successor's). */
    public void remove() {
        try {
            if (Objects.equals(fileKey(path), fileKey)) {
                Files.delete(path);
            }
        } catch (IOException e) {
            // gone already
        }
    }

    static boolean isSocket(Path path) throws IOException {
        int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        return (mode & 0170000) == 0140000;
    }

    /** Whether a server accepts connections on the socket file. */
    static boolean isLive(Path path) throws Unusable {
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
            return true;
        } catch (ConnectException e) {
            return false; // ECONNREFUSED: nobody listens
        } catch (IOException e) {
            throw new Unusable("cannot tell whether a server listens on " + path + ": " + e.getMessage());
        }
    }

    /** {@code 0660} and the like: octal, at most {@code 0777}. */
    public static Set<PosixFilePermission> parseMode(String octal) {
        if (!octal.matches("0?[0-7]{3}")) {
            throw new IllegalArgumentException("'" + octal + "' is not an octal mode such as 0660");
        }
        int bits = Integer.parseInt(octal, 8);
        Set<PosixFilePermission> mode = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ,
        };
        for (int i = 0; i < order.length; i++) {
            if ((bits & (1 << i)) != 0) {
                mode.add(order[i]);
            }
        }
        return mode;
    }
}
