package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The real Exim 4 and its {@code dovecot} authenticator against the daemon's socket, speaking
 * SMTP on stdin ({@code exim -C CONF -bs}), no Exim daemon. Debian's {@code exim4-daemon-heavy}
 * has that authenticator; being an MTA it conflicts with postfix, so it is unpacked under
 * {@code target/exim} rather than installed (its libraries are installed, and the
 * {@code Debian-exim} user it is built for is made). The authenticators are those of
 * {@code examples/exim4-dovecot-auth.conf}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class EximIT {

    private static final Path UNPACKED = DaemonProcess.projectDir().resolve("target/exim");
    private static final Path EXIM = UNPACKED.resolve("usr/sbin/exim4");
    private static final List<String> LIBRARIES = List.of("libidn12", "libmariadb3", "libspf2-2", "libgnutls-dane0");

    private static Path dir;
    private static DaemonProcess daemon;
    private static Path conf;

    @BeforeAll
    static void start() throws IOException {
        unpackExim();
        dir = Files.createTempDirectory("saslauth-exim-");
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Path socket = dir.resolve("auth");
        daemon = DaemonProcess.start(dir, socket, "--passwd-file",
                DaemonProcess.projectDir().resolve("examples/users.passwd").toString(), "--failure-delay", "0",
                "--listen", "unix:" + socket, "--socket-mode", "0666");
        Path spool = dir.resolve("spool");
        Files.createDirectories(spool.resolve("log"));
        run("chown", "-R", "Debian-exim:Debian-exim", spool.toString());
        conf = dir.resolve("exim.conf");
        Files.writeString(conf, String.join("\n",
                "primary_hostname = mail.saslauth.test",
                "spool_directory = " + spool,
                "log_file_path = " + spool.resolve("log") + "/%slog",
                "exim_user = Debian-exim",
                "exim_group = Debian-exim",
                "acl_smtp_rcpt = acl_check_rcpt",
                "auth_advertise_hosts = *",
                "",
                "begin acl",
                "acl_check_rcpt:",
                "  accept authenticated = *",
                "  deny message = relay not permitted",
                "",
                "begin authenticators",
                Files.readString(DaemonProcess.projectDir().resolve("examples/exim4-dovecot-auth.conf"))
                        .replace("/run/saslauth/auth", socket.toString()),
                ""));
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (daemon != null) {
            assertEquals(0, daemon.terminate(Duration.ofSeconds(10)), daemon.logText());
        }
    }

    @Test
    void plainRightAndWrong() throws IOException {
        try (Session s = new Session()) {
            s.ehloOffersAuth();
            assertEquals(535, s.send("AUTH PLAIN " + AuthClient.plain("alice", "wrong")).code, s.transcript());
            assertEquals(235, s.send("AUTH PLAIN " + AuthClient.plain("alice", "alice-password")).code, s.transcript());
            assertEquals(250, s.send("MAIL FROM:<alice@saslauth.test>").code, s.transcript());
            assertEquals(250, s.send("RCPT TO:<someone@example.net>").code, s.transcript() + "\nrelaying once authenticated");
        }
        try (Session s = new Session()) {
            s.ehloOffersAuth();
            assertEquals(535, s.send("AUTH PLAIN " + AuthClient.plain("mallory", "alice-password")).code, s.transcript());
        }
        DaemonIT.awaitLog(daemon, "auth ok: rip=192.0.2.9 mech=PLAIN user=\"alice\"");
        DaemonIT.awaitLog(daemon, "auth failed: rip=192.0.2.9 mech=PLAIN user=\"mallory\"");
    }

    @Test
    void loginRightAndWrong() throws IOException {
        try (Session s = new Session()) {
            s.ehloOffersAuth();
            Reply user = s.send("AUTH LOGIN");
            assertEquals(334, user.code, s.transcript());
            assertEquals(334, s.send(b64("bob")).code, s.transcript());
            assertEquals(535, s.send(b64("not-bob")).code, s.transcript());
            assertEquals(334, s.send("AUTH LOGIN").code, s.transcript());
            assertEquals(334, s.send(b64("bob")).code, s.transcript());
            assertEquals(235, s.send(b64("bob-password")).code, s.transcript());
        }
        DaemonIT.awaitLog(daemon, "auth ok: rip=192.0.2.9 mech=LOGIN user=\"bob\"");
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private record Reply(int code, List<String> lines) {}

    /** One {@code exim -bs} process: SMTP on its stdin and stdout, one command at a time. */
    private static final class Session implements AutoCloseable {
        private final Process exim;
        private final BufferedReader in;
        private final OutputStream out;
        private final StringBuilder transcript = new StringBuilder();

        Session() throws IOException {
            // -oMa: the SMTP client's address, as if it had connected over TCP (root may say so).
            exim = new ProcessBuilder(EXIM.toString(), "-C", conf.toString(), "-oMa", "192.0.2.9", "-bs")
                    .redirectError(dir.resolve("exim.stderr").toFile()).start();
            in = new BufferedReader(new InputStreamReader(exim.getInputStream(), StandardCharsets.UTF_8));
            out = exim.getOutputStream();
            Reply greeting = read();
            assertEquals(220, greeting.code, transcript());
        }

        void ehloOffersAuth() throws IOException {
            Reply ehlo = send("EHLO client.example.net");
            assertEquals(250, ehlo.code, transcript());
            assertTrue(ehlo.lines.stream().anyMatch(l -> l.matches("250.AUTH PLAIN LOGIN")), transcript());
        }

        Reply send(String line) throws IOException {
            transcript.append("C: ").append(line.startsWith("AUTH PLAIN ") ? "AUTH PLAIN ..." : line).append('\n');
            out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            return read();
        }

        private Reply read() throws IOException {
            List<String> lines = new ArrayList<>();
            String l;
            do {
                l = in.readLine();
                if (l == null) {
                    throw new IOException("exim closed the session\n" + transcript());
                }
                lines.add(l);
                transcript.append("S: ").append(l).append('\n');
            } while (l.length() > 3 && l.charAt(3) == '-');
            return new Reply(Integer.parseInt(l.substring(0, 3)), lines);
        }

        String transcript() {
            String stderr;
            try {
                stderr = Files.readString(dir.resolve("exim.stderr"));
            } catch (IOException e) {
                stderr = e.toString();
            }
            return transcript + "--- exim stderr ---\n" + stderr + "\n" + PostfixInstance.tail(daemon.logText(), 20);
        }

        @Override
        public void close() throws IOException {
            try {
                send("QUIT");
            } catch (IOException e) {
                // gone already
            }
            try {
                if (!exim.waitFor(10, TimeUnit.SECONDS)) {
                    exim.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // --- getting Exim ---------------------------------------------------------------------------

    private static synchronized void unpackExim() {
        String problem = null;
        try {
            if (!Files.isExecutable(EXIM)) {
                problem = unpack();
            }
            if (problem == null) {
                problem = makeUser();
            }
            if (problem == null) {
                PostfixInstance.Result v = PostfixInstance.run(Map.of(), EXIM.toString(), "-C", "/dev/null", "-bV");
                if (v.status() != 0) {
                    problem = "the unpacked exim does not run: " + PostfixInstance.tail(v.output(), 5);
                }
            }
        } catch (IOException e) {
            problem = e.toString();
        }
        if (problem == null) {
            return;
        }
        problem = "cannot run Exim: " + problem;
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail(problem + " (CI=true: this test must run in CI)");
        }
        Assumptions.abort(problem);
    }

    private static String unpack() throws IOException {
        Map<String, String> env = Map.of("DEBIAN_FRONTEND", "noninteractive");
        List<String> install = new ArrayList<>(List.of("apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q",
                "--no-install-recommends"));
        install.addAll(LIBRARIES);
        PostfixInstance.Result libs = PostfixInstance.run(Duration.ofMinutes(10), env, install.toArray(new String[0]));
        if (libs.status() != 0) {
            return "apt-get install " + LIBRARIES + " failed: " + PostfixInstance.tail(libs.output(), 10);
        }
        Path debs = DaemonProcess.projectDir().resolve("target/exim-deb");
        Files.createDirectories(debs);
        PostfixInstance.Result download = PostfixInstance.run(Duration.ofMinutes(10), env, "sh", "-c",
                "cd '" + debs + "' && apt-get download exim4-daemon-heavy");
        List<Path> found;
        try (var list = Files.list(debs)) {
            found = list.filter(p -> p.getFileName().toString().startsWith("exim4-daemon-heavy_")).toList();
        }
        if (found.isEmpty()) {
            return "apt-get download exim4-daemon-heavy failed: " + PostfixInstance.tail(download.output(), 10);
        }
        PostfixInstance.Result x = PostfixInstance.run(Map.of(), "dpkg", "-x", found.get(0).toString(), UNPACKED.toString());
        if (x.status() != 0 || !Files.isExecutable(EXIM)) {
            return "dpkg -x failed: " + x.output();
        }
        return null;
    }

    private static String makeUser() throws IOException {
        if (run("getent", "passwd", "Debian-exim").status() == 0) {
            return null;
        }
        PostfixInstance.Result r = run("useradd", "--system", "--user-group", "--no-create-home",
                "--home-dir", "/var/spool/exim4", "--shell", "/usr/sbin/nologin", "Debian-exim");
        return r.status() == 0 ? null : "useradd Debian-exim failed: " + r.output();
    }

    private static PostfixInstance.Result run(String... command) throws IOException {
        return PostfixInstance.run(Map.of(), command);
    }
}
