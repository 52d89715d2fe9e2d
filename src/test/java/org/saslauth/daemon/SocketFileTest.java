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
