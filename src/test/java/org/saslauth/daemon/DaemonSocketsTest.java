package org.saslauth.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The daemon's socket files: the auth sockets' access and the userdb socket's, each its own. */
@ExtendWith(LogToFile.class)
@Timeout(30)
class DaemonSocketsTest {

    @TempDir(factory = SocketFileTest.UnderTarget.class)
    Path dir;

    @Test
    void theUserdbSocketHasItsOwnModeOwnerAndGroup() throws Exception {
        boolean root = SocketFileTest.root();
        SocketFile.Access auth = new SocketFile.Access(SocketFile.parseMode("0666"), null, null);
        SocketFile.Access userdb = new SocketFile.Access(SocketFile.parseMode("0600"),
                root ? "nobody" : null, root ? "nogroup" : null);
        Path authSocket = dir.resolve("auth");
        Path userdbSocket = dir.resolve("userdb");
        ConnectionHandler none = (out, peer) -> {
            throw new AssertionError("no client connects");
        };
        Daemon d = Daemon.bind(new Daemon.Options(List.of(new ListenAddress.Unix(authSocket)), auth, userdb, null,
                userdbSocket, 10, false), none, none, Duration.ZERO, new CountDownLatch(1));
        d.start();
        try {
            PosixFileAttributes a = Files.readAttributes(authSocket, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            assertEquals(PosixFilePermissions.fromString("rw-rw-rw-"), a.permissions());
            PosixFileAttributes u = Files.readAttributes(userdbSocket, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            assertEquals(PosixFilePermissions.fromString("rw-------"), u.permissions());
            if (root) {
                assertEquals("root:root", a.owner().getName() + ":" + a.group().getName(), "the daemon's");
                assertEquals("nobody:nogroup", u.owner().getName() + ":" + u.group().getName());
            }
        } finally {
            d.stop();
        }
        assertFalse(Files.exists(authSocket), "removed at the stop");
        assertFalse(Files.exists(userdbSocket), "removed at the stop");
    }
}
