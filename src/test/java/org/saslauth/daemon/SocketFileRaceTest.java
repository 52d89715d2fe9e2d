package org.saslauth.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The root daemon binding its socket in a directory another account can write (Postfix's
 * {@code private/}, owned by postfix): that account swaps every new name there for a symbolic
 * link to a file of root's, which must never get the socket's owner, group or mode.
 */
@Timeout(120)
class SocketFileRaceTest {

    private static final int BINDS = 200;

    @TempDir(factory = SocketFileTest.UnderTarget.class)
    Path dir;

    @Test
    void aSwappedNameNeverPassesTheSocketsAccessToAnotherFile() throws Exception {
        Assumptions.assumeTrue(SocketFileTest.root(), "needs root: the socket gets another owner, and the"
                + " attacker's directory belongs to nobody");
        SocketFileTest.assumeOnlyRootWrites(dir);
        Path spool = Files.createDirectory(dir.resolve("private"));
        PosixFileAttributeView spoolView = Files.getFileAttributeView(spool, PosixFileAttributeView.class);
        var users = spool.getFileSystem().getUserPrincipalLookupService();
        spoolView.setOwner(users.lookupPrincipalByName("nobody"));
        spoolView.setPermissions(PosixFilePermissions.fromString("rwx------"));
        Path victim = Files.writeString(dir.resolve("victim"), "root's secret");
        Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rw-------"));
        Path socket = spool.resolve("auth");

        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger swaps = new AtomicInteger();
        Thread attacker = new Thread(() -> {
            int n = 0;
            while (!stop.get()) {
                try (DirectoryStream<Path> entries = Files.newDirectoryStream(spool)) {
                    for (Path p : entries) {
                        String name = p.getFileName().toString();
                        if (name.equals("auth") || name.startsWith("stolen.") || Files.isSymbolicLink(p)) {
                            continue;
                        }
                        try {
                            Files.move(p, spool.resolve("stolen." + n++), StandardCopyOption.ATOMIC_MOVE);
                            Files.createSymbolicLink(p, victim);
                            swaps.incrementAndGet();
                        } catch (IOException e) {
                            // lost the race this time
                        }
                    }
                } catch (IOException e) {
                    // the listing raced a rename; list again
                }
            }
        }, "attacker");
        attacker.setDaemon(true);
        attacker.start();
        Path probe = Files.writeString(spool.resolve(".probe"), "");
        for (long end = System.nanoTime() + 10_000_000_000L; swaps.get() == 0 && System.nanoTime() < end; ) {
            Thread.onSpinWait();
        }
        assertTrue(Files.isSymbolicLink(probe), "the attacker swaps a new name for a link");
        Files.delete(probe);
        swaps.set(0);
        SocketFile.Access access = new SocketFile.Access(SocketFile.parseMode("0666"), "nobody", "nogroup");
        try {
            for (int i = 0; i < BINDS; i++) {
                SocketFile f = SocketFile.bind(socket, access);
                try {
                    PosixFileAttributes v = Files.readAttributes(victim, PosixFileAttributes.class);
                    String seen = PosixFilePermissions.toString(v.permissions()) + " " + v.owner().getName() + ":"
                            + v.group().getName();
                    assertEquals("rw------- root:root", seen, "the victim after " + (i + 1) + " binds and "
                            + swaps.get() + " swaps");
                    assertTrue(SocketFile.isSocket(socket), "a socket at " + socket);
                    PosixFileAttributes s = Files.readAttributes(socket, PosixFileAttributes.class,
                            java.nio.file.LinkOption.NOFOLLOW_LINKS);
                    assertEquals("rw-rw-rw- nobody:nogroup", PosixFilePermissions.toString(s.permissions()) + " "
                            + s.owner().getName() + ":" + s.group().getName());
                } finally {
                    f.channel().close();
                    f.remove();
                }
            }
        } finally {
            stop.set(true);
            attacker.join();
        }
    }
}
