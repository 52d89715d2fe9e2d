package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The real chasquid (Debian's package) with {@code dovecot_auth: true} against the daemon's two
 * sockets: AUTH PLAIN over STARTTLS on its submission port through the auth socket, and local
 * recipients checked through the userdb socket, configured with the lines of
 * {@code examples/chasquid-dovecot.conf}. chasquid wants {@code user@domain} identities.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ChasquidIT {

    private static final String DOMAIN = "saslauth.test";

    private static Path dir;
    private static DaemonProcess daemon;
    private static Process chasquid;
    private static int smtpPort;
    private static int submissionPort;

    @BeforeAll
    static void start() throws Exception {
        Packages.require("/usr/bin/chasquid", "chasquid");
        dir = Files.createTempDirectory("saslauth-chasquid-");
        // The demo users, named user@domain as chasquid sends them.
        String users = Files.readString(DaemonProcess.projectDir().resolve("examples/users.passwd"))
                .replaceAll("(?m)^(alice|bob|carol):", "$1@" + DOMAIN + ":");
        Files.writeString(dir.resolve("users.passwd"), users);
        daemon = DaemonProcess.start(dir, dir.resolve("userdb"), "--passwd-file", dir.resolve("users.passwd").toString(),
                "--failure-delay", "0", "--listen", "unix:" + dir.resolve("auth"),
                "--userdb-listen", "unix:" + dir.resolve("userdb"));

        Path conf = dir.resolve("conf");
        Files.createDirectories(conf.resolve("domains/" + DOMAIN));
        Path certs = conf.resolve("certs/mail." + DOMAIN);
        Files.createDirectories(certs);
        PostfixInstance.Result cert = PostfixInstance.run(Map.of(), "openssl", "req", "-x509", "-newkey", "rsa:2048",
                "-nodes", "-days", "1", "-subj", "/CN=mail." + DOMAIN,
                "-keyout", certs.resolve("privkey.pem").toString(), "-out", certs.resolve("fullchain.pem").toString());
        assertEquals(0, cert.status(), cert.output());
        smtpPort = freePort();
        submissionPort = freePort();
        int tlsPort = freePort();
        Files.writeString(conf.resolve("chasquid.conf"), String.join("\n",
                "hostname: \"mail." + DOMAIN + "\"",
                "smtp_address: \"127.0.0.1:" + smtpPort + "\"",
                "submission_address: \"127.0.0.1:" + submissionPort + "\"",
                "submission_over_tls_address: \"127.0.0.1:" + tlsPort + "\"",
                "mail_delivery_agent_bin: \"/bin/true\"",
                "data_dir: \"" + dir.resolve("data") + "\"",
                "mail_log_path: \"" + dir.resolve("mail.log") + "\"",
                Files.readString(DaemonProcess.projectDir().resolve("examples/chasquid-dovecot.conf"))
                        .replace("/run/saslauth/", dir + "/")));
        chasquid = new ProcessBuilder("/usr/bin/chasquid", "-config_dir", conf.toString(), "-v", "1",
                "-logfile", dir.resolve("chasquid.log").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("chasquid.out").toFile()).start();
        awaitPort(submissionPort);
        awaitPort(smtpPort);
    }

    @AfterAll
    static void stop() throws Exception {
        if (chasquid != null) {
            chasquid.destroy();
            chasquid.waitFor(10, TimeUnit.SECONDS);
            chasquid.destroyForcibly();
        }
        if (daemon != null) {
            assertEquals(0, daemon.terminate(Duration.ofSeconds(10)), daemon.logText());
        }
    }

    @Test
    void authPlainOverStartTlsOnTheSubmissionPort() throws Exception {
        assertEquals(235, submissionAuth("alice@" + DOMAIN, "alice-password"), context());
        assertEquals(235, submissionAuth("bob@" + DOMAIN, "bob-password"), context());
        assertEquals(535, submissionAuth("alice@" + DOMAIN, "wrong"), context());
        assertEquals(535, submissionAuth("mallory@" + DOMAIN, "alice-password"), context());
        DaemonIT.awaitLog(daemon, "auth ok: rip=- mech=PLAIN user=\"bob@" + DOMAIN + "\"");
        DaemonIT.awaitLog(daemon, "auth failed: rip=- mech=PLAIN user=\"mallory@" + DOMAIN + "\"");
    }

    @Test
    void localRecipientsAreCheckedThroughTheUserdbSocket() throws Exception {
        try (SmtpClient smtp = new SmtpClient(smtpPort, Duration.ofSeconds(15))) {
            assertEquals(220, smtp.greeting().code(), context());
            assertEquals(250, smtp.send("EHLO client.example.net").code(), context());
            assertEquals(250, smtp.send("MAIL FROM:<>").code(), context());
            SmtpClient.Reply known = smtp.send("RCPT TO:<alice@" + DOMAIN + ">");
            assertEquals(250, known.code(), context() + known);
            SmtpClient.Reply unknown = smtp.send("RCPT TO:<nobody@" + DOMAIN + ">");
            assertEquals(550, unknown.code(), context() + unknown);
        }
        DaemonIT.awaitLog(daemon, "userdb lookup id=1 user=\"nobody@" + DOMAIN + "\": not found");
        DaemonIT.awaitLog(daemon, "userdb lookup id=1 user=\"alice@" + DOMAIN + "\": found");
    }

    /** EHLO, STARTTLS, EHLO, AUTH PLAIN; returns the code of the AUTH reply. */
    private static int submissionAuth(String user, String password) throws Exception {
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress("127.0.0.1", submissionPort), 10_000);
            plain.setSoTimeout(15_000);
            Line io = new Line(plain);
            expect(220, io.reply());
            io.send("EHLO client.example.net");
            expect(250, io.reply());
            io.send("STARTTLS");
            expect(220, io.reply());
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(null, new TrustManager[] {new TrustAll()}, null); // the test's own self-signed certificate
            try (SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket(plain, "mail." + DOMAIN, submissionPort, true)) {
                s.startHandshake();
                Line sio = new Line(s);
                sio.send("EHLO client.example.net");
                List<String> ehlo = sio.reply();
                assertTrue(ehlo.stream().anyMatch(l -> l.contains("AUTH") && l.contains("PLAIN")), ehlo.toString());
                sio.send("AUTH PLAIN " + AuthClient.plain(user, password));
                List<String> r = sio.reply();
                return Integer.parseInt(r.get(r.size() - 1).substring(0, 3));
            }
        }
    }

    private static void expect(int code, List<String> reply) {
        assertTrue(reply.get(reply.size() - 1).startsWith(String.valueOf(code)), reply + "\n" + context());
    }

    /** Reading whole SMTP replies and writing lines over one socket. */
    private static final class Line {
        private final BufferedReader in;
        private final OutputStream out;

        Line(Socket s) throws IOException {
            in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            out = s.getOutputStream();
        }

        void send(String line) throws IOException {
            out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        List<String> reply() throws IOException {
            List<String> lines = new ArrayList<>();
            String l;
            do {
                l = in.readLine();
                if (l == null) {
                    throw new IOException("closed after " + lines);
                }
                lines.add(l);
            } while (l.length() > 3 && l.charAt(3) == '-');
            return lines;
        }
    }

    private static final class TrustAll implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    private static String context() {
        return "\n--- chasquid ---\n" + PostfixInstance.tail(read(dir.resolve("chasquid.log")) + read(dir.resolve("chasquid.out")), 30)
                + "\n" + PostfixInstance.tail(daemon.logText(), 20);
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void awaitPort(int port) throws IOException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < deadline && chasquid.isAlive()) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                return;
            } catch (IOException e) {
                PostfixInstance.sleep(100);
            }
        }
        throw new IOException("chasquid does not listen on " + port + context());
    }
}
