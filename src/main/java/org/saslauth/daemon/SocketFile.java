package org.saslauth.daemon;

import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * A listening UNIX-domain socket file, as Dovecot's {@code unix_listener} makes one: mode, owner
 * and group set before a client can reach it (bound under a temporary name, then renamed into
 * place), a stale file from a crashed server replaced, a live server left alone, and the file
 * removed at exit if it is still this server's.
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

    public Path path() {
        return path;
    }

    public static SocketFile bind(Path path, Access access) throws Unusable, IOException {
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            if (!isSocket(path)) {
                throw new Unusable(path + " exists and is not a socket");
            }
            if (isLive(path)) {
                throw new Unusable("another server is listening on " + path);
            }
            // stale: nothing listens; replaced by the rename below
        }
        Path tmp = path.resolveSibling("." + path.getFileName() + "." + org.saslauth.Pid.CURRENT + ".new");
        Files.deleteIfExists(tmp);
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.bind(UnixDomainSocketAddress.of(tmp), 512);
            // Following links: Java's no-follow variant opens the file, which a socket refuses (ENXIO).
            PosixFileAttributeView view = Files.getFileAttributeView(tmp, PosixFileAttributeView.class);
            UserPrincipalLookupService users = tmp.getFileSystem().getUserPrincipalLookupService();
            if (access.user() != null) {
                view.setOwner(lookup(users, access.user(), false));
            }
            if (access.group() != null) {
                view.setGroup((GroupPrincipal) lookup(users, access.group(), true));
            }
            view.setPermissions(access.mode());
            Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return new SocketFile(path, Files.readAttributes(path, "unix:ino", LinkOption.NOFOLLOW_LINKS).get("ino"), ch);
        } catch (IOException | Unusable | RuntimeException e) {
            ch.close();
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    private static UserPrincipal lookup(UserPrincipalLookupService users, String name, boolean group)
            throws Unusable, IOException {
        try {
            return group ? users.lookupPrincipalByGroupName(name) : users.lookupPrincipalByName(name);
        } catch (UserPrincipalNotFoundException e) {
            throw new Unusable("no such " + (group ? "group" : "user") + ": " + name);
        }
    }

    /** Removes the file if it is still the one this server bound (not a successor's). */
    public void remove() {
        try {
            Object now = Files.readAttributes(path, "unix:ino", LinkOption.NOFOLLOW_LINKS).get("ino");
            if (Objects.equals(now, fileKey)) {
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
