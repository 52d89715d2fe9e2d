package org.saslauth.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Making, replacing and removing the socket file. */
class SocketFileTest {

    @TempDir
    Path dir;

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

    @Test
    void ownerAndGroupAreSetWhenRoot() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid")), "needs root");
        Path path = dir.resolve("auth");
        SocketFile f = SocketFile.bind(path, new SocketFile.Access(SocketFile.parseMode("0660"), "nobody", "nogroup"));
        try {
            assertEquals("nobody", Files.getOwner(path).getName());
            assertEquals("nogroup", Files.readAttributes(path, java.nio.file.attribute.PosixFileAttributes.class).group().getName());
        } finally {
            f.channel().close();
            f.remove();
        }
        SocketFile.Unusable e = assertThrows(SocketFile.Unusable.class, () -> SocketFile.bind(path,
                new SocketFile.Access(SocketFile.parseMode("0660"), "no-such-user-here", null)));
        assertEquals("no such user: no-such-user-here", e.getMessage());
        assertFalse(Files.exists(path));
    }
}
