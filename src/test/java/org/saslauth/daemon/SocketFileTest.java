package org.saslauth.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.AnnotatedElementContext;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.io.TempDirFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Making, replacing and removing the socket file. */
class SocketFileTest {

    @TempDir(factory = UnderTarget.class)
    Path dir;

    /**
     * Test directories under {@code target/}: a temporary directory in {@code /tmp} would hang
     * under a directory everyone may write, where a root daemon stages no socket.
     */
    static final class UnderTarget implements TempDirFactory {
        @Override
        public Path createTempDirectory(AnnotatedElementContext element, ExtensionContext context) throws IOException {
            Path target = Files.createDirectories(Path.of(System.getProperty("basedir", "."), "target")).toRealPath();
            return Files.createTempDirectory(target, "socket-file-");
        }
    }

    static boolean root() throws IOException {
        return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
    }

    /** Skips unless {@code dir} and every directory above it belong to root and only root may write them. */
    static void assumeOnlyRootWrites(Path dir) throws IOException {
        for (Path d = dir.toRealPath(); d != null; d = d.getParent()) {
            int uid = (Integer) Files.getAttribute(d, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) Files.getAttribute(d, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            Assumptions.assumeTrue(uid == 0 && (mode & 0022) == 0,
                    "needs a test directory that only root can write, and all above it: " + d + " is not");
        }
    }

    private static SocketFile.Access mode(String octal) {
        return new SocketFile.Access(SocketFile.parseMode(octal), null, null);
    }

    @Test
    void theSocketHasItsModeAndAcceptsConnections() throws Exception {
        Path path = dir.resolve("auth");
        SocketFile f = SocketFile.bind(path, mode("0660"));
        try {
            assertEquals(PosixFilePermissions.fromString("rw-rw----"), Files.getPosixFilePermissions(path));
            assertTrue(SocketFile.isSocket(path));
            try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
                assertTrue(c.isConnected());
            }
            try (var files = Files.list(dir)) {
                assertEquals(1, files.count(), "no temporary name left behind");
            }
        } finally {
            f.channel().close();
            f.remove();
        }
        assertFalse(Files.exists(path));
    }

    @Test
    void aStaleSocketIsReplaced() throws Exception {
        Path path = dir.resolve("auth");
        ServerSocketChannel crashed = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        crashed.bind(UnixDomainSocketAddress.of(path));
        crashed.close(); // the file stays, nothing listens
        assertTrue(Files.exists(path));
        SocketFile f = SocketFile.bind(path, mode("0600"));
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
            assertTrue(c.isConnected());
        } finally {
            f.channel().close();
            f.remove();
        }
    }

    @Test
    void aLiveServerIsLeftAlone() throws Exception {
        Path path = dir.resolve("auth");
        SocketFile first = SocketFile.bind(path, mode("0660"));
        try {
            SocketFile.Unusable e = assertThrows(SocketFile.Unusable.class, () -> SocketFile.bind(path, mode("0660")));
            assertEquals("another server is listening on " + path, e.getMessage());
            try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
                assertTrue(c.isConnected(), "the first server still has its socket");
            }
        } finally {
            first.channel().close();
            first.remove();
        }
    }

    @Test
    void aFileThatIsNotASocketIsNeverReplaced() throws Exception {
        Path path = dir.resolve("auth");
        Files.writeString(path, "precious");
        assertThrows(SocketFile.Unusable.class, () -> SocketFile.bind(path, mode("0660")));
        assertEquals("precious", Files.readString(path));
    }

    /** A link at the path is not a socket, whatever it points to; a link above the path is followed. */
    @Test
    void aSymbolicLinkIsNeverReplaced() throws Exception {
        Path elsewhere = Files.createDirectory(dir.resolve("elsewhere"));
        SocketFile real = SocketFile.bind(elsewhere.resolve("auth"), mode("0660"));
        real.channel().close();
        Path link = Files.createSymbolicLink(dir.resolve("auth"), elsewhere.resolve("auth"));
        SocketFile.Unusable e = assertThrows(SocketFile.Unusable.class, () -> SocketFile.bind(link, mode("0666")));
        assertEquals(link + " exists and is not a socket", e.getMessage());
        assertTrue(Files.isSymbolicLink(link));
        assertEquals(PosixFilePermissions.fromString("rw-rw----"), Files.getPosixFilePermissions(elsewhere.resolve("auth")));
        Files.delete(link);
        Path linkedDir = Files.createSymbolicLink(dir.resolve("linked"), elsewhere);
        SocketFile viaLink = SocketFile.bind(linkedDir.resolve("auth"), mode("0600")); // replaces the stale one
        try {
            assertEquals(elsewhere.toRealPath().resolve("auth"), viaLink.path());
            assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(elsewhere.resolve("auth")));
        } finally {
            viaLink.channel().close();
            viaLink.remove();
        }
        assertEquals(List.of("elsewhere", "linked"), names(dir));
        assertEquals(List.of(), names(elsewhere));
    }

    /**
     * A symbolic link at the socket's path is never followed nor replaced, wherever it points: at a
     * file, at nothing, at a stale socket, at a directory. The link and its target stay as they were.
     */
    @Test
    void aSymbolicLinkIsNeverFollowedNorReplaced() throws Exception {
        Path precious = dir.resolve("precious");
        Files.writeString(precious, "precious");
        Path stale = dir.resolve("stale");
        try (ServerSocketChannel crashed = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            crashed.bind(UnixDomainSocketAddress.of(stale));
        }
        Path subdir = Files.createDirectory(dir.resolve("subdir"));
        for (Path target : new Path[] {precious, dir.resolve("nothing-here"), stale, subdir}) {
            Path link = dir.resolve("auth");
            Files.deleteIfExists(link);
            Files.createSymbolicLink(link, target);
            assertThrows(SocketFile.Unusable.class, () -> SocketFile.bind(link, mode("0666")), "link to " + target);
            assertTrue(Files.isSymbolicLink(link), "the link is left in place: " + target);
            assertEquals(target, Files.readSymbolicLink(link));
        }
        assertEquals("precious", Files.readString(precious));
        assertTrue(SocketFile.isSocket(stale), "the link's target is not replaced");
        assertFalse(Files.exists(dir.resolve("nothing-here"), java.nio.file.LinkOption.NOFOLLOW_LINKS),
                "nothing is made where a dangling link points");
        try (var files = Files.list(subdir)) {
            assertEquals(0, files.count(), "nothing is made in a directory the link points at");
        }
        try (var files = Files.list(dir)) {
            assertEquals(4, files.count(), "no temporary name left behind: " + dir);
        }
    }

    @Test
    void aDirectoryIsNeverReplaced() throws Exception {
        Path path = Files.createDirectory(dir.resolve("auth"));
        Files.writeString(path.resolve("inside"), "kept");
        assertThrows(SocketFile.Unusable.class, () -> SocketFile.bind(path, mode("0660")));
        assertTrue(Files.isDirectory(path, java.nio.file.LinkOption.NOFOLLOW_LINKS));
        assertEquals("kept", Files.readString(path.resolve("inside")));
    }

    /** A live server behind a stale-looking path is still a live server: its socket is kept and serves. */
    @Test
    void aLiveServerStaysReachableAfterTheRefusal() throws Exception {
        Path path = dir.resolve("auth");
        try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            other.bind(UnixDomainSocketAddress.of(path));
            Object before = Files.getAttribute(path, "unix:ino", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            assertThrows(SocketFile.Unusable.class, () -> SocketFile.bind(path, mode("0660")));
            assertEquals(before, Files.getAttribute(path, "unix:ino", java.nio.file.LinkOption.NOFOLLOW_LINKS),
                    "the other server's socket file is the same file");
            try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
                assertTrue(c.isConnected());
                assertTrue(other.accept() != null, "and the connection reached the other server");
            }
        }
    }

    @Test
    void aSuccessorsSocketIsNotRemoved() throws Exception {
        Path path = dir.resolve("auth");
        SocketFile old = SocketFile.bind(path, mode("0660"));
        old.channel().close();
        SocketFile successor = SocketFile.bind(path, mode("0660")); // replaces the stale one
        old.remove();
        assertTrue(Files.exists(path), "the old server's exit must not take the new one's socket");
        successor.channel().close();
        successor.remove();
        assertFalse(Files.exists(path));
    }

    /**
     * Postfix's layout: the socket's directory belongs to another account, so the socket is
     * staged in the directory above, which only root can write, and nothing is left there.
     */
    @Test
    void ownerAndGroupAreSetWhenRoot() throws Exception {
        Assumptions.assumeTrue(root(), "needs root");
        assumeOnlyRootWrites(dir);
        Path spool = ownedByNobody(dir.resolve("private"));
        assertEquals(dir.toRealPath(), SocketFile.stagingDirectory(spool.toRealPath(), Path.of("auth"), 0));
        Path path = spool.resolve("auth");
        SocketFile f = SocketFile.bind(path, new SocketFile.Access(SocketFile.parseMode("0660"), "nobody", "nogroup"));
        try {
            PosixFileAttributes a = Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            assertEquals("rw-rw---- nobody:nogroup", PosixFilePermissions.toString(a.permissions()) + " "
                    + a.owner().getName() + ":" + a.group().getName());
            assertEquals(List.of("private"), names(dir), "the private directory is gone");
            assertEquals(List.of("auth"), names(spool));
            try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
                assertTrue(c.isConnected());
            }
        } finally {
            f.channel().close();
            f.remove();
        }
        assertFalse(Files.exists(path));
    }

    /** An unknown user or group fails after the bind: the staged socket and its directory go too. */
    @ParameterizedTest
    @CsvSource({"no-such-user-here, , no such user: no-such-user-here",
        ", no-such-group-here, no such group: no-such-group-here"})
    void aFailedBindLeavesNothingBehind(String user, String group, String message) throws Exception {
        Assumptions.assumeTrue(root(), "needs root");
        assumeOnlyRootWrites(dir);
        Path spool = ownedByNobody(dir.resolve("private"));
        Path path = spool.resolve("auth");
        SocketFile.Unusable e = assertThrows(SocketFile.Unusable.class, () -> SocketFile.bind(path,
                new SocketFile.Access(SocketFile.parseMode("0660"), user, group)));
        assertEquals(message, e.getMessage());
        assertEquals(List.of("private"), names(dir), "no private directory left");
        assertEquals(List.of(), names(spool));
        SocketFile.Unusable inDir = assertThrows(SocketFile.Unusable.class, () -> SocketFile.bind(dir.resolve("auth"),
                new SocketFile.Access(SocketFile.parseMode("0660"), user, group)));
        assertEquals(message, inDir.getMessage());
        assertEquals(List.of("private"), names(dir), "staged in the socket's own directory: nothing left there either");
    }

    /**
     * A directory under a sticky, world-writable {@code /tmp}-like directory on a filesystem of
     * its own ({@code /dev/shm}): nowhere to stage, and root refuses rather than bind in place.
     */
    @Test
    void rootRefusesWithoutADirectoryOnlyRootCanWrite() throws Exception {
        Assumptions.assumeTrue(root(), "needs root");
        Path shm = Path.of("/dev/shm");
        Assumptions.assumeTrue(Files.isDirectory(shm), "needs /dev/shm");
        Object dev = Files.getAttribute(shm, "unix:dev");
        Assumptions.assumeTrue(((Integer) Files.getAttribute(shm, "unix:mode") & 0002) != 0
                && !dev.equals(Files.getAttribute(Path.of("/"), "unix:dev"))
                && !dev.equals(Files.getAttribute(Path.of("/dev"), "unix:dev")),
                "needs /dev/shm world-writable and a filesystem of its own, as on Debian");
        Path tmp = Files.createTempDirectory(shm, "saslauth-socket-file-");
        try {
            assertNull(SocketFile.stagingDirectory(tmp, Path.of("auth"), 0));
            Path path = tmp.resolve("auth");
            SocketFile.Unusable e = assertThrows(SocketFile.Unusable.class, () -> SocketFile.bind(path, mode("0666")));
            assertTrue(e.getMessage().startsWith("no directory on the path to " + tmp + " that only root can write"
                    + " is on its filesystem"), e.getMessage());
            assertTrue(e.getMessage().contains("the owner, group and mode of " + path + " cannot be set"), e.getMessage());
            assertEquals(List.of(), names(tmp));
            try (var all = Files.list(shm)) {
                assertEquals(List.of(), all.filter(p -> p.getFileName().toString().startsWith(".saslauth.")).toList());
            }
        } finally {
            Files.delete(tmp);
        }
    }

    /** The staging directory: the deepest on the way down that only its owner, root or this user, can write. */
    @Test
    void theStagingDirectoryIsTheDeepestOnlyRootOrThisUserCanWrite() throws Exception {
        assumeOnlyRootWrites(dir);
        Path real = dir.toRealPath();
        Path auth = Path.of("auth");
        assertEquals(real, SocketFile.stagingDirectory(real, auth, 0), "the socket's directory itself");
        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxr-x"));
        Path below = Files.createDirectory(shared.resolve("below"));
        assertEquals(real, SocketFile.stagingDirectory(below.toRealPath(), auth, 0),
                "not in or below a group-writable directory");
        if (root()) {
            Path nobodys = ownedByNobody(dir.resolve("nobodys"));
            assertEquals(real, SocketFile.stagingDirectory(nobodys.toRealPath(), auth, 0), "not in another user's");
            assertEquals(nobodys.toRealPath(), SocketFile.stagingDirectory(nobodys.toRealPath(), auth, 65534),
                    "in this process's user's own");
            // A daemon run as another user may not make its private directory in root's: it binds in place.
            assertNull(SocketFile.stagingDirectory(real, auth, 65534), "never in a directory of root's for another user");
            Path deeper = Files.createDirectory(nobodys.resolve("deeper"));
            assertEquals(nobodys.toRealPath(), SocketFile.stagingDirectory(deeper.toRealPath(), auth, 65534),
                    "the deepest of its own");
        }
        String staged = real + "/.saslauth." + org.saslauth.Pid.CURRENT + ".01234567/";
        String longName = "a".repeat(107 - staged.length() + 1); // one byte over sun_path's 107
        Path higher = SocketFile.stagingDirectory(real, Path.of(longName), 0);
        assertTrue(higher != null && real.startsWith(higher) && !higher.equals(real),
                "a socket path too long there is staged higher up: " + higher);
    }

    /**
     * Run as its own user, the daemon met Postfix's {@code private/} (postfix's, 0700) with an
     * {@code AccessDeniedException} naming its temporary {@code .auth.PID.new}: now one line names
     * the directory, its owner and mode, the user, and what to do. As nobody, in a JVM of its own.
     */
    @ParameterizedTest
    @CsvSource({
        "private/auth,       private, 0700",
        "private/below/auth, private, 0700",
        "readonly/auth,      readonly, 0755",
    })
    void aDirectoryTheUserMayNotWriteIsNamedWithItsOwnerAndMode(String socket, String blocking, String mode)
            throws Exception {
        Assumptions.assumeTrue(root(), "needs root, to run as nobody");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path priv = Files.createDirectory(dir.resolve("private"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        Files.createDirectory(priv.resolve("below"));
        Files.createDirectory(dir.resolve("readonly"));
        Files.setPosixFilePermissions(dir.resolve("readonly"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Path own = ownedByNobody(dir.resolve("own"));
        Files.setPosixFilePermissions(own, PosixFilePermissions.fromString("rwxr-x---"));

        String out = bindAsNobody(dir.resolve(socket));
        String real = dir.toRealPath().toString();
        assertEquals("cannot create " + dir.resolve(socket) + ": directory " + real + "/" + blocking
                + " is owned by root:root mode " + mode + " and saslauth runs as nobody; give the socket a"
                + " directory that this user may write, or run the daemon from its systemd socket unit\n", out);
        assertEquals(List.of(), names(dir.resolve("readonly")), "nothing left behind");
        assertEquals("bound " + own.toRealPath().resolve("auth") + "\n", bindAsNobody(own.resolve("auth")),
                "in a directory of its own");
    }

    /** The advice for Postfix's queue directory: the package's directory inside the chroot. */
    @Test
    void underPostfixsQueueTheAdviceIsThePackagesDirectory() throws Exception {
        Path priv = Path.of("/var/spool/postfix/private");
        Assumptions.assumeTrue(Files.isDirectory(priv), "needs Postfix's " + priv);
        Assumptions.assumeTrue(((Integer) Files.getAttribute(priv, "unix:mode") & 07777) == 0700, priv + " is 0700");
        SocketFile.Unusable e = SocketFile.notPermitted(priv.resolve("saslauth"), priv, 65534,
                new java.nio.file.AccessDeniedException(priv + "/.saslauth.12012.new"));
        String owner = Files.getOwner(priv).getName();
        assertTrue(e.getMessage().startsWith("cannot create /var/spool/postfix/private/saslauth: directory "
                + priv + " is owned by " + owner + ":"), e.getMessage());
        assertTrue(e.getMessage().endsWith(" mode 0700 and saslauth runs as nobody; use /var/spool/postfix/saslauth/auth"
                + " (/var/spool/postfix/saslauth: the package makes it, owned by saslauth:postfix mode 0750) or run"
                + " the daemon from its systemd socket unit"), e.getMessage());
        assertFalse(e.getMessage().contains(".new"), e.getMessage());
    }

    /** What {@link BindAs} prints, run as nobody on the classes directories alone. */
    private static String bindAsNobody(Path socket) throws Exception {
        String classPath = java.util.Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .filter(e -> Files.isDirectory(Path.of(e))).collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
        Process p = new ProcessBuilder("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xshare:auto", "-XX:TieredStopAtLevel=1",
                "-cp", classPath, BindAs.class.getName(), socket.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    private static Path ownedByNobody(Path newDir) throws IOException {
        Files.createDirectory(newDir);
        PosixFileAttributeView view = Files.getFileAttributeView(newDir, PosixFileAttributeView.class);
        view.setOwner(newDir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody"));
        view.setPermissions(PosixFilePermissions.fromString("rwx------"));
        return newDir;
    }

    private static List<String> names(Path d) throws IOException {
        try (var files = Files.list(d)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
