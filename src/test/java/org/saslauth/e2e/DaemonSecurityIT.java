package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The daemon's guarantees that take a process to show: the handshake limit as the daemon sets
 * it (not a value a unit test chose), and a log file at the most verbose level that holds no
 * secret of any mechanism.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class DaemonSecurityIT {

    private static final String PASSWORD = "Alice-Trace-Pw-93";
    private static final String WRONG = "Wrong-Guess-517";

    private static DaemonProcess daemon;
    private static Path dir;

    @BeforeAll
    static void start() throws IOException {
        dir = Files.createTempDirectory("saslauth-security-it-");
        Path users = dir.resolve("users.passwd");
        Files.writeString(users, "alice:{PLAIN}" + PASSWORD + "\n");
        daemon = DaemonProcess.startLogging("trace", dir, dir.resolve("userdb"), "--passwd-file", users.toString(),
                "--mechanisms", "PLAIN,LOGIN,CRAM-MD5,SCRAM-SHA-1,SCRAM-SHA-256", "--failure-delay", "0",
                "--auth-penalty", "false", "--listen", "unix:" + dir.resolve("auth"),
                "--userdb-listen", "unix:" + dir.resolve("userdb"));
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (daemon != null) {
            assertEquals(0, daemon.terminate(Duration.ofSeconds(10)), daemon.logText());
        }
    }

    // --- the handshake limit ----------------------------------------------------------------------

    /**
     * A client that has not sent VERSION and CPID (the auth socket) or VERSION (the userdb socket)
     * within 30 s is closed then, and not before; one that has stays, and is served after it.
     */
    @Test
    void aClientWithoutAHandshakeIsClosedAfter30Seconds() throws Exception {
        Duration wait = Duration.ofSeconds(45);
        long t0 = System.nanoTime();
        try (AuthClient silent = new AuthClient(UnixDomainSocketAddress.of(dir.resolve("auth")), wait);
                AuthClient versionOnly = new AuthClient(UnixDomainSocketAddress.of(dir.resolve("auth")), wait);
                AuthClient cpidOnly = new AuthClient(UnixDomainSocketAddress.of(dir.resolve("auth")), wait);
                AuthClient polite = new AuthClient(UnixDomainSocketAddress.of(dir.resolve("auth")), wait);
                AuthClient userdbSilent = new AuthClient(UnixDomainSocketAddress.of(dir.resolve("userdb")), wait);
                AuthClient userdbPolite = new AuthClient(UnixDomainSocketAddress.of(dir.resolve("userdb")), wait)) {
            versionOnly.send("VERSION\t1\t0");
            cpidOnly.send("CPID\t4242"); // issue 19: a CPID alone used to end the limit
            polite.handshake();
            userdbPolite.send("VERSION\t1\t1");
            readUntil(silent, "DONE");
            readUntil(versionOnly, "DONE");
            readUntil(cpidOnly, "DONE");
            readUntil(userdbSilent, "SPID");
            readUntil(userdbPolite, "SPID");

            for (AuthClient closed : List.of(silent, versionOnly, cpidOnly, userdbSilent)) {
                assertEquals(null, closed.readLine(), "closed, with nothing said");
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(ms >= 29_000, "closed after " + ms + " ms, before the 30 s");
                assertTrue(ms < 36_000, "closed after " + ms + " ms");
            }
            polite.send(AuthClient.authPlain(1, "alice", PASSWORD));
            assertEquals("OK\t1\tuser=alice", polite.readLine(), "a client past its handshake stays");
            userdbPolite.send("USER\t1\talice\tservice=smtp");
            assertEquals("USER\t1\talice", userdbPolite.readLine());
        }
        assertTrue(daemon.count("no handshake within 30000 ms") >= 4, daemon.logText());
    }

    private static void readUntil(AuthClient c, String prefix) throws IOException {
        String line;
        do {
            line = c.readLine();
            assertTrue(line != null, "closed before " + prefix);
        } while (!line.startsWith(prefix));
    }

    // --- no secret in the most verbose log ---------------------------------------------------------

    /**
     * Right and wrong logins of every mechanism at {@code --log-level trace}: neither password,
     * nor anything the client sent that carries or proves one (base64 payloads, the CRAM-MD5
     * digest, the SCRAM proof) is in the log file, though every exchange is logged.
     */
    @Test
    void theTraceLogHoldsNoSecretOfAnyMechanism() throws Exception {
        List<String> sent = new ArrayList<>();
        try (AuthClient c = AuthClient.unix(dir.resolve("auth"))) {
            c.handshake();
            int id = 100;
            for (String pw : List.of(PASSWORD, WRONG)) {
                boolean right = pw.equals(PASSWORD);
                String plain = b64("\0alice\0" + pw);
                sent.add(plain);
                c.send("AUTH\t" + ++id + "\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.1\tresp=" + plain);
                assertReply(c.readLine(), id, right);

                c.send("AUTH\t" + ++id + "\tLOGIN\tservice=smtp\trip=192.0.2.1");
                assertEquals("CONT\t" + id + "\tVXNlcm5hbWU6", c.readLine());
                c.send("CONT\t" + id + "\t" + b64("alice"));
                assertEquals("CONT\t" + id + "\tUGFzc3dvcmQ6", c.readLine());
                sent.add(b64(pw));
                c.send("CONT\t" + id + "\t" + b64(pw));
                assertReply(c.readLine(), id, right);

                c.send("AUTH\t" + ++id + "\tCRAM-MD5\tservice=smtp\trip=192.0.2.1");
                String challenge = decode(cont(c.readLine(), id));
                Mac md5 = Mac.getInstance("HmacMD5");
                md5.init(new SecretKeySpec(pw.getBytes(StandardCharsets.UTF_8), "HmacMD5"));
                String digest = HexFormat.of().formatHex(md5.doFinal(challenge.getBytes(StandardCharsets.UTF_8)));
                sent.add(digest);
                sent.add(b64("alice " + digest));
                c.send("CONT\t" + id + "\t" + b64("alice " + digest));
                assertReply(c.readLine(), id, right);

                for (String mech : List.of("SCRAM-SHA-256", "SCRAM-SHA-1")) {
                    id++;
                    boolean sha256 = mech.endsWith("256");
                    String bare = "n=alice,r=clientNonce" + id;
                    c.send("AUTH\t" + id + "\t" + mech + "\tservice=smtp\trip=192.0.2.1\tresp=" + b64("n,," + bare));
                    String serverFirst = decode(cont(c.readLine(), id));
                    String[] proof = scramFinal(sha256, pw, bare, serverFirst);
                    sent.add(b64(proof[0]));
                    sent.add(proof[1]);
                    c.send("CONT\t" + id + "\t" + b64(proof[0]));
                    String reply = c.readLine();
                    if (right) {
                        assertTrue(reply.startsWith("CONT\t" + id + "\t"), reply);
                        c.send("CONT\t" + id + "\t");
                        reply = c.readLine();
                    }
                    assertReply(reply, id, right);
                }
            }
        }
        try (AuthClient u = AuthClient.unix(dir.resolve("userdb"))) {
            u.send("VERSION\t1\t1");
            u.send("USER\t1\talice\tservice=smtp");
            readUntil(u, "USER\t1\talice");
        }
        // the log is complete once the daemon has written its lines; wait for the last result
        DaemonIT.awaitLog(daemon, "userdb lookup id=1 user=\"alice\": found");
        String log = Files.readString(daemon.log, StandardCharsets.UTF_8);
        assertTrue(log.contains(" DEBUG "), "logged at debug level and below: " + log);
        assertTrue(count(log, "auth ok: ") >= 5, "every good login logged: " + log);
        assertTrue(count(log, "auth failed: ") >= 5, "every bad login logged: " + log);
        List<String> secrets = new ArrayList<>(List.of(PASSWORD, WRONG, "Alice-Trace", "Guess-517",
                b64(PASSWORD), b64(WRONG)));
        secrets.addAll(sent);
        for (String secret : secrets) {
            assertFalse(log.contains(secret), "in the log: " + secret + "\n" + log);
        }
    }

    private static void assertReply(String reply, int id, boolean ok) {
        if (ok) {
            assertEquals("OK\t" + id + "\tuser=alice", reply);
        } else {
            assertEquals("FAIL\t" + id + "\tuser=alice\treason=Authentication failed", reply);
        }
    }

    private static String cont(String line, int id) {
        assertTrue(line != null && line.startsWith("CONT\t" + id + "\t"), String.valueOf(line));
        return line.substring(("CONT\t" + id + "\t").length());
    }

    /** RFC 5802's client-final message for {@code serverFirst}, and its proof alone. */
    private static String[] scramFinal(boolean sha256, String password, String bare, String serverFirst)
            throws Exception {
        String hmac = sha256 ? "HmacSHA256" : "HmacSHA1";
        String salt = null;
        String nonce = null;
        int iterations = 0;
        for (String a : serverFirst.split(",")) {
            switch (a.charAt(0)) {
                case 'r' -> nonce = a.substring(2);
                case 's' -> salt = a.substring(2);
                case 'i' -> iterations = Integer.parseInt(a.substring(2));
                default -> { }
            }
        }
        SecretKeyFactory f = SecretKeyFactory.getInstance(sha256 ? "PBKDF2WithHmacSHA256" : "PBKDF2WithHmacSHA1");
        byte[] salted = f.generateSecret(new PBEKeySpec(password.toCharArray(), Base64.getDecoder().decode(salt),
                iterations, sha256 ? 256 : 160)).getEncoded();
        byte[] clientKey = mac(hmac, salted, "Client Key");
        byte[] storedKey = MessageDigest.getInstance(sha256 ? "SHA-256" : "SHA-1").digest(clientKey);
        String withoutProof = "c=biws,r=" + nonce;
        byte[] signature = mac(hmac, storedKey, bare + "," + serverFirst + "," + withoutProof);
        byte[] proof = new byte[clientKey.length];
        for (int i = 0; i < proof.length; i++) {
            proof[i] = (byte) (clientKey[i] ^ signature[i]);
        }
        String p = Base64.getEncoder().encodeToString(proof);
        return new String[] {withoutProof + ",p=" + p, p};
    }

    private static byte[] mac(String algorithm, byte[] key, String data) throws Exception {
        Mac m = Mac.getInstance(algorithm);
        m.init(new SecretKeySpec(key, algorithm));
        return m.doFinal(data.getBytes(StandardCharsets.UTF_8));
    }

    private static long count(String text, String what) {
        return text.lines().filter(l -> l.contains(what)).count();
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String decode(String s) {
        return new String(Base64.getDecoder().decode(s), StandardCharsets.UTF_8);
    }
}
