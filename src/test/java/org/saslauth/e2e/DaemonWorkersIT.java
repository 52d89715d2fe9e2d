package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.saslauth.e2e.AuthClient.authPlain;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code --workers} bounds the slow hashes computed at once, not the threads: a {PLAIN} login on
 * one connection is answered at once while every slot is busy with slow hashes on others.
 */
@Timeout(120)
class DaemonWorkersIT {

    /** 200,000 rounds of SHA512-CRYPT (saslauth's limit): a tenth of a second or more per login. */
    private static final String SLOW = "slow:{SHA512-CRYPT}$6$rounds=200000$IPH6YZVcvqI7hm89$aH3xJKuQvSenJbwJEHJJGphdX"
            + "OZ/upOxdqof1WZ1YOxDSakbt6A2wa9ehPO.7PX8JHJdV6bZimWuA7vQAyL4r.\n";

    @Test
    void aPlainLoginIsAnsweredWhileEverySlotHashesForOthers() throws Exception {
        Path dir = Files.createTempDirectory("saslauth-workers-it-");
        Path users = dir.resolve("users");
        Files.writeString(users, SLOW + "quick:{PLAIN}quick-password\n");
        Path socket = dir.resolve("auth");
        try (DaemonProcess d = DaemonProcess.start(dir, socket, "--passwd-file", users.toString(),
                "--failure-delay", "0", "--workers", "1", "--listen", "unix:" + socket)) {
            DaemonIT.awaitLog(d, "serving (pid");
            List<AuthClient> slow = new ArrayList<>();
            try (AuthClient quick = AuthClient.unix(socket)) {
                for (int i = 0; i < 3; i++) { // replies looked for with a short wait, below
                    AuthClient c = new AuthClient(UnixDomainSocketAddress.of(socket), Duration.ofMillis(20));
                    slow.add(c);
                    handshake(c);
                }
                quick.handshake();
                for (int i = 0; i < slow.size(); i++) {
                    slow.get(i).send(authPlain(100 + i, "slow", "slow-password"));
                }
                Thread.sleep(50); // the three are queued for the one slot before the PLAIN login comes
                quick.send(authPlain(7, "quick", "quick-password"));
                assertEquals("OK\t7\tuser=quick", quick.readLine());
                int waiting = 0;
                for (AuthClient c : slow) {
                    try {
                        c.readLine();
                    } catch (IOException e) { // no reply yet
                        waiting++;
                    }
                }
                // With one slot, the slow logins finish one after another; the PLAIN login was
                // answered before the second of them could be.
                assertEquals(true, waiting >= 2, "slow logins still waiting when the PLAIN one was answered: " + waiting);
            } finally {
                for (AuthClient c : slow) {
                    c.close();
                }
            }
        }
    }

    /** A connection that ends with its FAIL still held by the failure delay holds no thread. */
    @Test
    void connectionsEndingWithHeldFailsHoldNoThread() throws Exception {
        Path dir = Files.createTempDirectory("saslauth-workers-it-");
        Path users = dir.resolve("users");
        Files.writeString(users, "quick:{PLAIN}quick-password\n");
        Path socket = dir.resolve("auth");
        try (DaemonProcess d = DaemonProcess.start(dir, socket, "--passwd-file", users.toString(),
                "--failure-delay", "3s", "--auth-penalty", "false", "--listen", "unix:" + socket)) {
            DaemonIT.awaitLog(d, "serving (pid");
            int before = threads(d.process.pid());
            List<AuthClient> clients = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                AuthClient c = AuthClient.unix(socket);
                clients.add(c);
                c.handshake();
                c.send(authPlain(1, "quick", "wrong"));
            }
            for (AuthClient c : clients) {
                c.close(); // the FAIL is held for 3 s: the connection drains after
            }
            Thread.sleep(1000);
            // the check pool may have grown to its 16 threads meanwhile; one thread per
            // draining connection would add 100
            int draining = threads(d.process.pid());
            assertEquals(true, draining < before + 50, "threads: " + before + " before, " + draining + " while 100 drain");
            try (AuthClient c = AuthClient.unix(socket)) {
                c.handshake();
                c.send(authPlain(2, "quick", "quick-password"));
                assertEquals("OK\t2\tuser=quick", c.readLine());
            }
        }
    }

    private static int threads(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("Threads:")) {
                return Integer.parseInt(line.substring(8).strip());
            }
        }
        throw new IOException("no Threads: line for " + pid);
    }

    @Test
    void aBadWorkersValueIsAUsageError() throws Exception {
        Path dir = Files.createTempDirectory("saslauth-workers-it-");
        Process p = DaemonProcess.builder(dir, DaemonProcess.command("--passwd-file", "/dev/null", "--workers", "0",
                "--listen", "unix:" + dir.resolve("auth"))).start();
        assertEquals(2, p.waitFor());
        assertThrows(IOException.class, () -> new AuthClient(UnixDomainSocketAddress.of(dir.resolve("auth")),
                Duration.ofSeconds(1)));
    }

    /** The handshake with a client whose reads wait only briefly: retried until DONE. */
    private static void handshake(AuthClient c) throws Exception {
        c.send("VERSION\t1\t0\nCPID\t" + ProcessHandle.current().pid());
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if ("DONE".equals(c.readLine())) {
                    return;
                }
            } catch (IOException e) { // not yet
            }
        }
        throw new IOException("no handshake");
    }
}
