package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * App passwords end to end (docs/app-passwords.md): made, listed and revoked with the real
 * {@code saslauth app-password} commands through the launcher {@code examples/saslauth} and the
 * built jar, then used through a helper spoken to on its stdin and stdout as spawn(8) runs it,
 * through {@code saslauth test --address --service}, and through a real Postfix with Python's
 * smtplib: inside and outside an app password's networks, for another service, expired, revoked
 * while the helper runs (the file read again without a restart), and
 * {@code app-passwords-required}. Each refusal's reason is looked for in the log file, and no
 * password or hash in the log or in {@code list}'s output.
 *
 * <p>The helper part needs nothing beyond Java; the Postfix part needs what {@code PostfixIT}
 * does (root, {@code postfix}, {@code python3}) and is skipped, saying why, without it. The
 * files and logs of the helper part are kept under {@code target/app-password-it/}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AppPasswordIT {

    static final Path PROJECT = Path.of(System.getProperty("basedir", ".")).toAbsolutePath();
    static final Path JAR = PROJECT.resolve("target/saslauth.jar");
    static final Path LAUNCHER = PROJECT.resolve("examples/saslauth");
    /** What {@code add} prints: four groups of four of its alphabet, without {@code 0 o 1 l i}. */
    static final Pattern GENERATED = Pattern.compile("[a-hjkmnp-z2-9]{4}(-[a-hjkmnp-z2-9]{4}){3}");
    static final String PHONE_NETWORKS = "192.0.2.0/24,2001:db8::/32";

    static Path work;
    static Path users;
    static Path apps;
    static Path config;
    static Path requiredConfig;
    /** The passwords {@code add} printed, by {@code user/name}. */
    static final Map<String, String> passwords = new HashMap<>();
    /** When the app password alice/old stops working. */
    static Instant oldExpires;
    static int commands;

    @BeforeAll
    static void setUp() throws IOException {
        assertTrue(Files.isReadable(JAR), JAR + " is missing: run the integration tests through `mvn verify`");
        work = PROJECT.resolve("target/app-password-it");
        deleteTree(work);
        Files.createDirectories(work);
        users = work.resolve("users.passwd");
        Files.writeString(users, "alice:{PLAIN}alice-password\nbob:{PLAIN}bob-password\ncarol:{PLAIN}carol-password\n");
        Files.setPosixFilePermissions(users, PosixFilePermissions.fromString("rw-r-----"));
        apps = work.resolve("app-passwords");
        String common = "passwd-file = " + users + "\n"
                + "app-passwords-file = " + apps + "\n"
                + "failure-delay = 0\n"
                // the cases are many failures from few addresses: no growing delay, ban or protection in their way
                + "auth-penalty = false\n"
                + "penalty-exempt = 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32\n"
                + "log-level = info\n";
        config = work.resolve("saslauth.properties");
        Files.writeString(config, common + "log-file = " + work.resolve("helper.log") + "\n");
        requiredConfig = work.resolve("required.properties");
        Files.writeString(requiredConfig, common + "app-passwords-required = true\n"
                + "log-file = " + work.resolve("required.log") + "\n");
    }

    @AfterAll
    static void tearDown() {
        if (postfix != null) {
            postfix.close();
        }
    }

    // --- the commands ---------------------------------------------------------------------------

    record Result(int status, String out, String err) {
        @Override
        public String toString() {
            return "exit " + status + "\n--- stdout ---\n" + out + "--- stderr ---\n" + err;
        }
    }

    /** {@code saslauth ARGS} through the launcher, {@code stdin} its input; its output kept in files under work. */
    static Result saslauth(String stdin, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        int n = ++commands;
        Path out = work.resolve("command-" + n + ".out");
        Path err = work.resolve("command-" + n + ".err");
        Files.writeString(work.resolve("command-" + n + ".args"), String.join(" ", cmd) + "\n");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("SASLAUTH_JAR", JAR.toString());
        pb.environment().put("SASLAUTH_CDS", "/nonexistent.jsa");
        Process p = pb.start();
        try {
            try (OutputStream in = p.getOutputStream()) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "saslauth " + String.join(" ", args) + " still runs after 60 s");
        } finally {
            p.destroyForcibly();
        }
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** {@code saslauth app-password add}: the password it printed on its last line, kept by user/name. */
    static String add(Path configFile, String user, String name, String... options) throws Exception {
        List<String> args = new ArrayList<>(List.of("app-password", "add", "--config", configFile.toString()));
        args.addAll(List.of(options));
        args.addAll(List.of(user, name));
        Result r = saslauth("", args.toArray(String[]::new));
        assertEquals(0, r.status(), r.toString());
        List<String> lines = r.out().lines().toList();
        assertEquals(2, lines.size(), r.toString());
        assertTrue(lines.get(0).startsWith("app password \"" + name + "\" of user \"" + user + "\" added to "), r.toString());
        assertTrue(lines.get(0).endsWith("; it is shown once:"), r.toString());
        String password = lines.get(1);
        assertTrue(GENERATED.matcher(password).matches(), r.toString());
        assertFalse(passwords.containsValue(password), "the same password twice: " + password);
        passwords.put(user + "/" + name, password);
        return password;
    }

    static Result revoke(Path configFile, String user, String name) throws Exception {
        return saslauth("", "app-password", "revoke", "--config", configFile.toString(), user, name);
    }

    /** The {@code {SCHEME}hash} of each line of an app passwords file. */
    static List<String> hashes(Path file) throws IOException {
        return Files.readAllLines(file).stream().filter(l -> !l.isBlank() && !l.startsWith("#"))
                .map(l -> l.split(":", 4)[2]).toList();
    }

    /** Asserts that {@code text} holds none of the passwords made and no hash of {@code file}, nor a part of one. */
    static void assertNoSecret(String text, Path file, String what) throws IOException {
        for (Map.Entry<String, String> p : passwords.entrySet()) {
            assertFalse(text.contains(p.getValue()), what + " shows the password of " + p.getKey() + ":\n" + text);
        }
        if (!Files.exists(file)) {
            return;
        }
        for (String hash : hashes(file)) {
            assertFalse(text.contains(hash), what + " shows a hash:\n" + text);
            for (String part : hash.split("\\$")) {
                if (part.length() >= 8) { // the salt and the digest
                    assertFalse(text.contains(part), what + " shows part " + part + " of a hash:\n" + text);
                }
            }
        }
        assertFalse(text.contains("argon2id$") || text.contains("{ARGON2ID}"), what + ":\n" + text);
    }

    // --- a helper as spawn(8) runs it -----------------------------------------------------------

    /** A helper through the launcher, spoken to on its stdin and stdout; stopped by its pid. */
    static final class Helper implements AutoCloseable {
        final Process process;
        final BufferedReader out;
        final OutputStream in;
        final Path log;
        int id;

        Helper(Path configFile, Path log) throws IOException {
            this.log = log;
            ProcessBuilder pb = new ProcessBuilder(LAUNCHER.toString(), "--config", configFile.toString())
                    .redirectError(ProcessBuilder.Redirect.appendTo(log.resolveSibling(log.getFileName() + ".stderr")
                            .toFile()));
            pb.environment().put("SASLAUTH_JAR", JAR.toString());
            pb.environment().put("SASLAUTH_CDS", "/nonexistent.jsa");
            process = pb.start();
            out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            in = process.getOutputStream();
            try {
                send("VERSION\t1\t2\nCPID\t4242\n");
                String l;
                do {
                    l = out.readLine();
                } while (l != null && !l.equals("DONE"));
                assertEquals("DONE", l, "no handshake from the helper; its log:\n" + log());
            } catch (IOException | RuntimeException | Error e) {
                close();
                throw e;
            }
        }

        void send(String text) throws IOException {
            in.write(text.getBytes(StandardCharsets.UTF_8));
            in.flush();
        }

        /**
         * One PLAIN login from {@code rip} (none when empty) for {@code service}: the reply line,
         * {@code OK\tID\t...} or {@code FAIL\tID\t...}.
         */
        String login(String user, String password, String rip, String service) throws IOException {
            int n = ++id;
            send("AUTH\t" + n + "\tPLAIN\tservice=" + service + (rip.isEmpty() ? "" : "\trip=" + rip) + "\tresp="
                    + Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8))
                    + "\n");
            String reply = out.readLine();
            assertTrue(reply != null && (reply.startsWith("OK\t" + n + "\t") || reply.startsWith("FAIL\t" + n + "\t")),
                    "reply to AUTH " + n + ": " + reply + "\n" + log());
            return reply;
        }

        /** Asserts an OK for user, and the log line of it. */
        void accepted(String user, String password, String rip, String service) throws IOException {
            String reply = login(user, password, rip, service);
            assertEquals("OK\t" + id + "\tuser=" + user, reply, log());
            awaitLog(log, "auth ok: rip=" + (rip.isEmpty() ? "-" : rip) + " mech=PLAIN user=\"" + user + "\" id=" + id);
        }

        /** Asserts a FAIL, and that its log line gives {@code reason}; returns that line. */
        String refused(String user, String password, String rip, String service, String reason) throws IOException {
            String reply = login(user, password, rip, service);
            assertEquals("FAIL\t" + id + "\tuser=" + user + "\treason=Authentication failed", reply, log());
            return awaitLog(log, "auth failed: rip=" + (rip.isEmpty() ? "-" : rip) + " mech=PLAIN user=\"" + user
                    + "\" id=" + id + " reason=\"" + reason);
        }

        String log() {
            return read(log);
        }

        @Override
        public void close() {
            try {
                in.close();
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (IOException e) {
                // stopped below
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                ProcessHandle.of(process.pid()).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The first line of {@code log} holding {@code text}, waited for up to 10 s: a line may follow its reply. */
    static String awaitLog(Path log, String text) {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            for (String line : read(log).lines().toList()) {
                if (line.contains(text)) {
                    return line;
                }
            }
            if (System.nanoTime() > end) {
                throw new AssertionError("no line of " + log + " holds " + text + ":\n" + read(log));
            }
            PostfixInstance.sleep(50);
        }
    }

    static void sleepUntil(Instant t) {
        long millis = Duration.between(Instant.now(), t).toMillis();
        if (millis > 0) {
            PostfixInstance.sleep(millis);
        }
    }

    // --- the file and the commands --------------------------------------------------------------

    @Test
    @Order(1)
    void addPrintsEachPasswordOnceAndListShowsNeitherPasswordNorHash() throws Exception {
        add(config, "alice", "phone", "--networks", PHONE_NETWORKS, "--services", "smtp");
        add(config, "alice", "laptop");
        add(config, "alice", "mailer", "--services", "imap");
        add(config, "carol", "tablet");
        oldExpires = Instant.now().truncatedTo(ChronoUnit.SECONDS).plusSeconds(25);
        add(config, "alice", "old", "--expires", oldExpires.toString());

        Result again = saslauth("", "app-password", "add", "--config", config.toString(), "alice", "phone");
        assertEquals(2, again.status(), again.toString());
        assertTrue(again.err().contains("user \"alice\" has an app password \"phone\" already"), again.toString());

        String file = Files.readString(apps);
        assertEquals(5, hashes(apps).size(), file);
        for (String hash : hashes(apps)) {
            assertTrue(hash.startsWith("{ARGON2ID}$argon2id$v=19$m=8192,t=1,p=1$"), file);
        }
        for (String p : passwords.values()) {
            assertFalse(file.contains(p), "the file holds a password:\n" + file);
        }
        assertTrue(file.contains("alice:phone:{ARGON2ID}"), file);
        assertTrue(file.contains(":networks=" + PHONE_NETWORKS + " services=smtp created="), file);
        assertTrue(file.contains(":expires=" + oldExpires + " created="), file);
        // a new file takes the passwd file's mode, never readable by others
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(apps)));

        Result list = saslauth("", "app-password", "list", "--config", config.toString(), "alice");
        assertEquals(0, list.status(), list.toString());
        List<String> lines = list.out().lines().toList();
        assertEquals(6, lines.size(), list.toString());
        assertTrue(lines.get(0).matches("USER +NAME +NETWORKS +SERVICES +EXPIRES +CREATED +STATE"), list.toString());
        assertTrue(lines.get(1).matches("alice +phone +" + Pattern.quote(PHONE_NETWORKS) + " +smtp +never +\\S+Z +active"),
                list.toString());
        assertTrue(lines.get(2).matches("alice +laptop +any +any +never +\\S+Z +active"), list.toString());
        assertTrue(lines.get(3).matches("alice +mailer +any +imap +never +\\S+Z +active"), list.toString());
        assertTrue(lines.get(4).matches("alice +old +any +any +" + Pattern.quote(oldExpires.toString()) + " +\\S+Z +active"),
                list.toString());
        assertEquals("4 app passwords of user \"alice\" in " + apps, lines.get(5), list.toString());
        assertFalse(list.out().contains("tablet"), list.toString());
        assertNoSecret(list.out() + list.err(), apps, "app-password list");

        Result all = saslauth("", "app-password", "list", "--config", config.toString());
        assertEquals(0, all.status(), all.toString());
        assertTrue(all.out().lines().anyMatch(l -> l.matches("carol +tablet +any +any +never +\\S+Z +active")), all.toString());
        assertTrue(all.out().endsWith("5 app passwords in " + apps + "\n"), all.toString());
        assertNoSecret(all.out() + all.err(), apps, "app-password list");

        Result none = saslauth("", "app-password", "list", "--config", config.toString(), "bob");
        assertEquals(0, none.status(), none.toString());
        assertTrue(none.out().endsWith("0 app passwords of user \"bob\" in " + apps + "\n"), none.toString());
    }

    // --- a spawned helper -----------------------------------------------------------------------

    @Test
    @Order(2)
    void aHelperChecksNetworksServicesExpiryAndRevocationWithoutRestart() throws Exception {
        String phone = passwords.get("alice/phone");
        Path log = work.resolve("helper.log");
        try (Helper h = new Helper(config, log)) {
            long pid = h.process.pid();
            assertTrue(Instant.now().isBefore(oldExpires.minusSeconds(2)),
                    "too slow: alice/old expires at " + oldExpires + " before it could be tried");
            h.accepted("alice", passwords.get("alice/old"), "203.0.113.5", "smtp");

            h.accepted("alice", phone, "192.0.2.7", "smtp");
            awaitLog(log, "user \"alice\" logged in with app password \"phone\"");
            h.accepted("alice", phone, "2001:db8::7", "smtp");
            h.refused("alice", phone, "198.51.100.7", "smtp",
                    "refused: app password 'phone' is not for this address (only " + PHONE_NETWORKS + ")\"");
            h.refused("alice", phone, "", "smtp", "refused: app password 'phone' is limited to " + PHONE_NETWORKS
                    + " and the client's address is unknown\"");
            h.refused("alice", phone, "192.0.2.7", "imap", "refused: app password 'phone' is not for service imap (only smtp)\"");
            h.refused("alice", passwords.get("alice/mailer"), "192.0.2.7", "smtp",
                    "refused: app password 'mailer' is not for service smtp (only imap)\"");
            h.accepted("alice", passwords.get("alice/mailer"), "192.0.2.7", "imap");
            // the main password still works without app-passwords-required; another user's app password does not
            h.accepted("alice", "alice-password", "192.0.2.7", "smtp");
            h.refused("alice", passwords.get("carol/tablet"), "192.0.2.7", "smtp", "wrong password\"");
            h.refused("bob", phone, "192.0.2.7", "smtp", "wrong password\"");

            String laptop = passwords.get("alice/laptop");
            h.accepted("alice", laptop, "198.51.100.20", "smtp");
            Result r = revoke(config, "alice", "laptop");
            assertEquals(0, r.status(), r.toString());
            assertEquals("app password \"laptop\" of user \"alice\" revoked\n", r.out(), r.toString());
            assertTrue(Files.readString(apps).lines().anyMatch(l -> l.startsWith("alice:laptop:")
                    && l.matches(".*[: ]created=\\S+ revoked=\\S+Z")), Files.readString(apps));
            // the helper reads the file again within about two seconds of the change
            long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            String reply;
            do {
                PostfixInstance.sleep(200);
                reply = h.login("alice", laptop, "198.51.100.20", "smtp");
            } while (reply.startsWith("OK") && System.nanoTime() < end);
            assertTrue(reply.startsWith("FAIL"), "still logs in 10 s after its revocation: " + reply + "\n" + h.log());
            awaitLog(log, "id=" + h.id + " reason=\"refused: app password 'laptop' was revoked at ");
            awaitLog(log, "app passwords file " + apps + " reloaded: 5 app passwords");
            assertEquals(pid, h.process.pid());
            assertTrue(h.process.isAlive(), "the same helper, not restarted");
            h.accepted("alice", phone, "192.0.2.7", "smtp");

            Result twice = revoke(config, "alice", "laptop");
            assertEquals(0, twice.status(), twice.toString());
            assertTrue(twice.out().startsWith("app password \"laptop\" of user \"alice\" was revoked already, at "),
                    twice.toString());
            Result missing = revoke(config, "alice", "watch");
            assertEquals(1, missing.status(), missing.toString());

            sleepUntil(oldExpires.plusMillis(200));
            h.refused("alice", passwords.get("alice/old"), "203.0.113.5", "smtp",
                    "refused: app password 'old' expired at " + oldExpires + "\"");
            assertNoSecret(h.log(), apps, "the helper's log");
        }
        Result list = saslauth("", "app-password", "list", "--config", config.toString(), "alice");
        assertTrue(list.out().lines().anyMatch(l -> l.matches("alice +laptop +.* +revoked \\S+Z")), list.toString());
        assertTrue(list.out().lines().anyMatch(l -> l.matches("alice +old +.* +expired")), list.toString());
        assertNoSecret(list.out(), apps, "app-password list");
    }

    @Test
    @Order(3)
    void appPasswordsRequiredRefusesTheMainPasswordOfUsersWithOne() throws Exception {
        Path log = work.resolve("required.log");
        try (Helper h = new Helper(requiredConfig, log)) {
            String line = h.refused("alice", "alice-password", "192.0.2.7", "smtp",
                    "refused: main password refused: the user has app passwords and app-passwords-required is on\"");
            assertTrue(line.contains(" - auth failed: "), line);
            // a wrong main password is told from a refused right one
            h.refused("alice", "alice-passwort", "192.0.2.7", "smtp", "wrong password\"");
            h.accepted("alice", passwords.get("alice/phone"), "192.0.2.7", "smtp");
            // bob has no app password: his main password works as before
            h.accepted("bob", "bob-password", "192.0.2.7", "smtp");

            h.refused("carol", "carol-password", "192.0.2.8", "smtp",
                    "refused: main password refused: the user has app passwords and app-passwords-required is on\"");
            Result r = revoke(requiredConfig, "carol", "tablet");
            assertEquals(0, r.status(), r.toString());
            // her last app password revoked, carol has her main password back, without a restart
            long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            String reply;
            do {
                PostfixInstance.sleep(200);
                reply = h.login("carol", "carol-password", "192.0.2.8", "smtp");
            } while (reply.startsWith("FAIL") && System.nanoTime() < end);
            assertEquals("OK\t" + h.id + "\tuser=carol", reply, h.log());
            h.refused("carol", passwords.get("carol/tablet"), "192.0.2.8", "smtp",
                    "refused: app password 'tablet' was revoked at ");
            assertNoSecret(h.log(), apps, "the helper's log");
        }
    }

    @Test
    @Order(4)
    void theTestCommandTriesAnAddressAndAService() throws Exception {
        String phone = passwords.get("alice/phone") + "\n";
        Result inside = saslauth(phone, "test", "--config", config.toString(), "--address", "192.0.2.9", "--service",
                "smtp", "alice");
        assertEquals(0, inside.status(), inside.toString());
        assertEquals("auth succeeded: user=alice\n", inside.out(), inside.toString());
        Result inside6 = saslauth(phone, "test", "--config", config.toString(), "--address", "2001:db8::9", "--service",
                "smtp", "alice");
        assertEquals(0, inside6.status(), inside6.toString());
        Result outside = saslauth(phone, "test", "--config", config.toString(), "--address", "198.51.100.9", "--service",
                "smtp", "alice");
        assertEquals(1, outside.status(), outside.toString());
        assertEquals("auth failed: user=alice (refused: app password 'phone' is not for this address (only "
                + PHONE_NETWORKS + "))\n", outside.out(), outside.toString());
        Result noAddress = saslauth(phone, "test", "--config", config.toString(), "alice");
        assertEquals(1, noAddress.status(), noAddress.toString());
        assertTrue(noAddress.out().contains("the client's address is unknown"), noAddress.toString());
        Result imap = saslauth(phone, "test", "--config", config.toString(), "--address", "192.0.2.9", "--service",
                "imap", "alice");
        assertEquals(1, imap.status(), imap.toString());
        assertEquals("auth failed: user=alice (refused: app password 'phone' is not for service imap (only smtp))\n",
                imap.out(), imap.toString());
        Result revoked = saslauth(passwords.get("alice/laptop") + "\n", "test", "--config", config.toString(),
                "--address", "192.0.2.9", "alice");
        assertEquals(1, revoked.status(), revoked.toString());
        assertTrue(revoked.out().startsWith("auth failed: user=alice (refused: app password 'laptop' was revoked at "),
                revoked.toString());
        for (Result r : List.of(inside, outside, imap, revoked)) {
            assertNoSecret(r.out() + r.err(), apps, "saslauth test");
        }
    }

    // --- a real Postfix -------------------------------------------------------------------------

    static final PostfixInstance.Service APP = new PostfixInstance.Service("saslauth_app", String.join("\n",
            "passwd-file = {etc}/users.passwd",
            "app-passwords-file = {etc}/app-passwords",
            "failure-delay = 0",
            "auth-penalty = false",
            "log-file = {log}/saslauth-app.log",
            ""));
    static final PostfixInstance.Service REQUIRED = new PostfixInstance.Service("saslauth_appreq", String.join("\n",
            "passwd-file = {etc}/users.passwd",
            "app-passwords-file = {etc}/app-passwords",
            "app-passwords-required = true",
            "failure-delay = 0",
            "auth-penalty = false",
            "log-file = {log}/saslauth-appreq.log",
            ""));
    /** The source address from which the app password alice/desk may log in through Postfix. */
    static final String DESK_ADDRESS = "127.0.0.2";

    static PostfixInstance postfix;
    static Instant staleExpires;

    /** The Postfix of the tests below, started by the first of them; skipped, saying why, where it cannot run. */
    static PostfixInstance postfix() throws Exception {
        PostfixInstance.requirePostfix();
        if (postfix == null) {
            postfix = PostfixInstance.start(PROJECT, List.of(APP, REQUIRED));
            // as the package installs it: the users readable by the helpers' group, not by others; the app
            // passwords file that add makes takes the passwd file's owner, group and mode
            Path passwd = postfix.etc().resolve("users.passwd");
            GroupPrincipal nogroup = passwd.getFileSystem().getUserPrincipalLookupService()
                    .lookupPrincipalByGroupName("nogroup");
            Files.getFileAttributeView(passwd, PosixFileAttributeView.class).setGroup(nogroup);
            Files.setPosixFilePermissions(passwd, PosixFilePermissions.fromString("rw-r-----"));
            Path properties = postfix.etc().resolve(APP.name() + ".properties");
            add(properties, "alice", "desk", "--networks", DESK_ADDRESS + "/32", "--services", "smtp");
            add(properties, "alice", "gone");
            staleExpires = Instant.now().truncatedTo(ChronoUnit.SECONDS).plusSeconds(30);
            add(properties, "alice", "stale", "--expires", staleExpires.toString());
            PosixFileAttributes a = Files.readAttributes(postfix.etc().resolve("app-passwords"), PosixFileAttributes.class);
            assertEquals("nogroup", a.group().getName());
            assertEquals("rw-r-----", PosixFilePermissions.toString(a.permissions()));
            // Postfix's first connections started helpers before the file existed: they read it once its
            // change is a second old, at a look at most once a second (docs/app-passwords.md)
            sleepUntil(Files.getLastModifiedTime(postfix.etc().resolve("app-passwords")).toInstant().plusMillis(2500));
        }
        return postfix;
    }

    static Path postfixLog(PostfixInstance.Service s) {
        return postfix.dir.resolve("log").resolve(s.name().replace('_', '-') + ".log");
    }

    static MailClients.Outcome smtplib(PostfixInstance.Service s, String user, String password, String source)
            throws IOException {
        return MailClients.smtplib(postfix.port(s), user, password, source);
    }

    static void assertAccepted(MailClients.Outcome o, PostfixInstance.Service s) {
        assertTrue(o.ok(), o + "\n" + read(postfixLog(s)) + "\n" + postfix.maillogTail(20));
    }

    /** Refused: smtplib tries PLAIN, then LOGIN, and gets a 535 for each. */
    static void assertRefused(MailClients.Outcome o, PostfixInstance.Service s) {
        assertEquals(1, o.status(), o.toString());
        assertEquals(0, o.accepted(), o.toString());
        assertTrue(o.refused() >= 1, o + "\n" + read(postfixLog(s)));
        assertTrue(o.output().contains("login refused: 535"), o.toString());
    }

    @Test
    @Order(5)
    void throughPostfixAnAppPasswordLogsInFromItsNetworksOnly() throws Exception {
        postfix();
        String desk = passwords.get("alice/desk");
        assertTrue(Instant.now().isBefore(staleExpires.minusSeconds(3)), "too slow: alice/stale expires at " + staleExpires);
        assertAccepted(smtplib(APP, "alice", passwords.get("alice/stale"), ""), APP);

        assertAccepted(smtplib(APP, "alice", desk, DESK_ADDRESS), APP);
        awaitLog(postfixLog(APP), "auth ok: rip=" + DESK_ADDRESS + " mech=PLAIN user=\"alice\"");
        awaitLog(postfixLog(APP), "user \"alice\" logged in with app password \"desk\"");
        assertRefused(smtplib(APP, "alice", desk, ""), APP);
        String line = awaitLog(postfixLog(APP), "reason=\"refused: app password 'desk' is not for this address (only "
                + DESK_ADDRESS + "/32)\"");
        assertTrue(line.contains("auth failed: rip=127.0.0.1 mech=PLAIN user=\"alice\""), line);
        // the main password works too, app-passwords-required being off here
        assertAccepted(smtplib(APP, "alice", "alice-password", ""), APP);
        assertFalse(postfix.maillog().contains("throttling"), postfix.maillogTail(30));
    }

    @Test
    @Order(6)
    void throughPostfixARevokedAppPasswordIsRefusedWithoutARestart() throws Exception {
        postfix();
        String gone = passwords.get("alice/gone");
        assertAccepted(smtplib(APP, "alice", gone, ""), APP);
        Result r = revoke(postfix.etc().resolve(APP.name() + ".properties"), "alice", "gone");
        assertEquals(0, r.status(), r.toString());
        PosixFileAttributes a = Files.readAttributes(postfix.etc().resolve("app-passwords"), PosixFileAttributes.class);
        assertEquals("nogroup", a.group().getName(), "revoke keeps the file's group");
        long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        MailClients.Outcome o;
        do {
            PostfixInstance.sleep(300);
            o = smtplib(APP, "alice", gone, "");
        } while (o.ok() && System.nanoTime() < end);
        assertRefused(o, APP);
        awaitLog(postfixLog(APP), "reason=\"refused: app password 'gone' was revoked at ");
        assertAccepted(smtplib(APP, "alice", passwords.get("alice/desk"), DESK_ADDRESS), APP);
    }

    @Test
    @Order(7)
    void throughPostfixAppPasswordsRequiredRefusesTheMainPasswordOfAliceOnly() throws Exception {
        postfix();
        assertRefused(smtplib(REQUIRED, "alice", "alice-password", ""), REQUIRED);
        awaitLog(postfixLog(REQUIRED), "reason=\"refused: main password refused: the user has app passwords and"
                + " app-passwords-required is on\"");
        assertAccepted(smtplib(REQUIRED, "bob", "bob-password", ""), REQUIRED);
        assertAccepted(smtplib(REQUIRED, "alice", passwords.get("alice/desk"), DESK_ADDRESS), REQUIRED);
        awaitLog(postfixLog(REQUIRED), "auth ok: rip=" + DESK_ADDRESS + " mech=PLAIN user=\"alice\"");
    }

    @Test
    @Order(8)
    void throughPostfixAnExpiredAppPasswordIsRefused() throws Exception {
        postfix();
        sleepUntil(staleExpires.plusMillis(200));
        assertRefused(smtplib(APP, "alice", passwords.get("alice/stale"), ""), APP);
        awaitLog(postfixLog(APP), "reason=\"refused: app password 'stale' expired at " + staleExpires + "\"");
        Path file = postfix.etc().resolve("app-passwords");
        for (PostfixInstance.Service s : List.of(APP, REQUIRED)) {
            assertNoSecret(read(postfixLog(s)), file, s.name() + "'s log");
        }
        assertNoSecret(postfix.maillog(), file, "Postfix's log");
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
