package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A throwaway Postfix instance ({@code postfix -c DIR}) under a temporary directory, listening on
 * loopback only, with smtpd asking saslauth over Dovecot's protocol through spawn(8), configured
 * with the lines of {@code examples/main.cf}, {@code examples/master.cf} and
 * {@code examples/saslauth.properties}; only paths, ports and the helper's user are changed.
 *
 * <p>Three smtpd services, each with its own saslauth spawn service and log file:
 * <ul>
 *   <li>{@link Variant#EXAMPLE}: exactly the example lines (log level info);
 *   <li>{@link Variant#DEBUG}: the same plus {@code --log-level debug};
 *   <li>{@link Variant#OREORE}: the same plus {@code --mechanisms PLAIN,LOGIN,OREORE}.
 * </ul>
 * Mail is never delivered: {@code defer_transports = smtp} keeps relayed mail in the queue.
 */
final class PostfixInstance implements AutoCloseable {

    /** The unprivileged account the helpers run as (the README's {@code saslauth} user). */
    static final String HELPER_USER = "nobody";

    static final Duration FAILURE_DELAY = Duration.ofSeconds(1);

    enum Variant {
        EXAMPLE("saslauth", ""),
        DEBUG("saslauth_debug", " --log-level debug --log-file {log}/saslauth-debug.log"),
        OREORE("saslauth_oreore", " --mechanisms PLAIN,LOGIN,OREORE --log-file {log}/saslauth-oreore.log");

        final String service;
        final String extraArgs;

        Variant(String service, String extraArgs) {
            this.service = service;
            this.extraArgs = extraArgs;
        }
    }

    /**
     * System property: the launcher of an installed saslauth (the Debian package's
     * {@code /usr/sbin/saslauth}) to use in master.cf instead of {@code examples/saslauth} and
     * {@code target/saslauth.jar} copied into the instance; see {@code DebianPackageIT}.
     */
    static final String INSTALLED_LAUNCHER = "saslauth.e2e.launcher";
    /** System property: the jar that launcher runs, by which the helpers are found. */
    static final String INSTALLED_JAR = "saslauth.e2e.jar";

    private static final Path POSTFIX = Path.of("/usr/sbin/postfix");
    private static final Path SPAWN = Path.of("/usr/lib/postfix/sbin/spawn");
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration APT_TIMEOUT = Duration.ofMinutes(10);

    final Path dir;
    private final Path etc;
    private final Path opt;
    private final Path log;
    /** The installed launcher under test, or null for the built jar copied into {@link #opt}. */
    private final String installedLauncher = System.getProperty(INSTALLED_LAUNCHER);
    private final Map<Variant, Integer> ports;
    private final Thread shutdownHook;
    private Optional<ProcessHandle> master = Optional.empty();
    /** With {@link #start(Path, String)}: an smtpd asking a saslauth daemon at this smtpd_sasl_path. */
    private String daemonSaslPath;
    private int daemonPort;

    private PostfixInstance(Path dir, Map<Variant, Integer> ports) {
        this.dir = dir;
        this.etc = dir.resolve("etc");
        this.opt = dir.resolve("opt");
        this.log = dir.resolve("log");
        this.ports = ports;
        this.shutdownHook = new Thread(this::stopQuietly, "postfix-e2e-stop");
    }

    // --- installation ---------------------------------------------------------------------------

    /**
     * Makes sure Postfix is installed (installing it with apt-get when missing) and that this test
     * may run it (as root). Where it cannot, the test fails when {@code CI=true} and is skipped
     * otherwise.
     */
    static void requirePostfix() {
        String problem = installProblem();
        if (problem == null) {
            return;
        }
        String message = "cannot run the Postfix end-to-end test: " + problem;
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail(message + " (CI=true: this test must run in CI)");
        }
        Assumptions.abort(message);
    }

    private static String installProblem() {
        if (!isRoot()) {
            return "not running as root (Postfix must be started as root, and installed by it)";
        }
        if (Files.isExecutable(POSTFIX) && Files.isExecutable(SPAWN)) {
            return null;
        }
        if (!Files.isExecutable(Path.of("/usr/bin/apt-get"))) {
            return "Postfix is not installed and there is no apt-get to install it";
        }
        try {
            Map<String, String> env = Map.of("DEBIAN_FRONTEND", "noninteractive");
            run(env, "sh", "-c", "echo 'postfix postfix/main_mailer_type select No configuration'"
                    + " | debconf-set-selections");
            Result update = run(APT_TIMEOUT, env, "apt-get", "update", "-q");
            Result install = run(APT_TIMEOUT, env, "apt-get", "install", "-y", "-q", "--no-install-recommends",
                    "postfix");
            if (install.status() != 0 || !Files.isExecutable(POSTFIX)) {
                return "apt-get install postfix failed: " + tail(update.output() + install.output(), 15);
            }
        } catch (IOException e) {
            return "installing Postfix failed: " + e;
        }
        return null;
    }

    private static boolean isRoot() {
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    // --- start and stop -------------------------------------------------------------------------

    /**
     * Lays out a fresh instance around the built jar and starts it; returns once every smtpd
     * port accepts connections.
     */
    static PostfixInstance start(Path projectDir) throws IOException {
        return start(projectDir, null);
    }

    /**
     * As {@link #start(Path)}, plus one more smtpd (on {@link #daemonPort()}) whose
     * {@code smtpd_sasl_path} is {@code daemonSaslPath}: a socket of {@code saslauth daemon},
     * which the test starts itself.
     */
    static PostfixInstance start(Path projectDir, String daemonSaslPath) throws IOException {
        Path jar = projectDir.resolve("target/saslauth.jar");
        if (!Files.isReadable(jar)) {
            fail(jar + " is missing: run the integration tests through `mvn verify`");
        }
        Path dir = Files.createTempDirectory("saslauth-e2e-");
        PostfixInstance pf = new PostfixInstance(dir, freePorts());
        pf.daemonSaslPath = daemonSaslPath;
        if (daemonSaslPath != null) {
            try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                pf.daemonPort = s.getLocalPort();
            }
        }
        try {
            pf.layOut(projectDir, jar);
            Runtime.getRuntime().addShutdownHook(pf.shutdownHook);
            Result r = run(Map.of(), POSTFIX.toString(), "-c", pf.etc.toString(), "start");
            if (r.status() != 0) {
                fail("postfix start failed (" + r.status() + "): " + r.output() + "\n" + pf.maillogTail(30));
            }
            pf.master = pf.readMasterPid();
            for (int port : pf.ports.values()) {
                pf.awaitPort(port, Duration.ofSeconds(20));
            }
            if (daemonSaslPath != null) {
                pf.awaitPort(pf.daemonPort, Duration.ofSeconds(20));
            }
            return pf;
        } catch (IOException | RuntimeException | Error e) {
            pf.close();
            throw e;
        }
    }

    private static Map<Variant, Integer> freePorts() throws IOException {
        List<ServerSocket> held = new ArrayList<>();
        try {
            for (int i = 0; i < Variant.values().length; i++) {
                held.add(new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()));
            }
            return Map.of(Variant.EXAMPLE, held.get(0).getLocalPort(),
                    Variant.DEBUG, held.get(1).getLocalPort(),
                    Variant.OREORE, held.get(2).getLocalPort());
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
    }

    private void layOut(Path projectDir, Path jar) throws IOException {
        Path examples = projectDir.resolve("examples");
        // queue_directory must exist, owned by root; Postfix makes data_directory itself.
        for (Path d : List.of(dir, etc, opt, log, dir.resolve("queue"))) {
            Files.createDirectories(d);
            Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        // The helpers run as HELPER_USER and append to their log files there.
        Files.setOwner(log, log.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(HELPER_USER));

        Files.copy(examples.resolve("users.passwd"), etc.resolve("users.passwd"), StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(etc.resolve("users.passwd"), PosixFilePermissions.fromString("rw-r--r--"));
        if (installedLauncher == null) {
            // As the README installs it by hand: /opt/saslauth/{saslauth,saslauth.jar}, /etc/saslauth/*.
            Files.copy(jar, opt.resolve("saslauth.jar"), StandardCopyOption.REPLACE_EXISTING);
            Files.copy(examples.resolve("saslauth"), opt.resolve("saslauth"), StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(opt.resolve("saslauth"), PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(opt.resolve("saslauth.jar"), PosixFilePermissions.fromString("rw-r--r--"));
            // The README's last install step: the class-data-sharing archive, made as root.
            Result cds = run(Map.of(), opt.resolve("saslauth").toString(), "cds");
            if (cds.status() != 0 || !Files.isRegularFile(opt.resolve("saslauth.jsa"))) {
                throw new IllegalStateException("saslauth cds failed: " + cds.output());
            }
        }

        String properties = paths(Files.readString(examples.resolve("saslauth.properties")))
                .replaceAll("(?m)^failure-delay *=.*$", "failure-delay = " + FAILURE_DELAY.toSeconds() + "s");
        Files.writeString(etc.resolve("saslauth.properties"), properties);

        Files.writeString(etc.resolve("main.cf"), mainCf(Files.readString(examples.resolve("main.cf"))));
        Files.writeString(etc.resolve("master.cf"), masterCf(Files.readString(examples.resolve("master.cf"))));
    }

    /** The example's absolute paths, moved under this instance's directory. */
    private String paths(String text) {
        if (installedLauncher != null) {
            text = text.replace("/opt/saslauth/saslauth ", installedLauncher + " ");
        }
        return text.replace("/opt/saslauth/", opt + "/")
                .replace("/etc/saslauth/", etc + "/")
                .replace("/var/log/saslauth/", log + "/");
    }

    private String mainCf(String example) {
        StringBuilder cf = new StringBuilder(example).append('\n');
        cf.append("# --- the test instance -------------------------------------------------------\n");
        for (Variant v : Variant.values()) {
            if (v != Variant.EXAMPLE) {
                cf.append(v.service).append("_time_limit = 3600s\n");
            }
        }
        cf.append("compatibility_level = 3.6\n")
                .append("queue_directory = ").append(dir.resolve("queue")).append('\n')
                .append("data_directory = ").append(dir.resolve("data")).append('\n')
                .append("mail_owner = postfix\n")
                .append("setgid_group = postdrop\n")
                .append("import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C\n")
                .append("inet_interfaces = 127.0.0.1\n")
                .append("inet_protocols = ipv4\n")
                .append("myhostname = mail.saslauth.test\n")
                .append("mydestination = localhost\n")
                // The test client connects from 127.0.0.1: it must not count as a trusted network,
                // or permit_mynetworks would let it relay without AUTH.
                .append("mynetworks = 192.0.2.1/32\n")
                .append("alias_maps =\n")
                .append("alias_database =\n")
                .append("smtpd_peername_lookup = no\n")
                .append("maillog_file = ").append(dir.resolve("maillog")).append('\n')
                .append("maillog_file_prefixes = ").append(dir).append('\n')
                // Nothing leaves the machine: relayed mail waits in the queue.
                .append("defer_transports = smtp\n");
        return cf.toString();
    }

    private String masterCf(String example) {
        // The example's spawn entry: its first line and its indented continuation lines.
        String entry = Pattern.compile("(?ms)^saslauth\\s.*?(?=^\\S|\\z)").matcher(example).results()
                .map(m -> m.group().stripTrailing())
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("no saslauth service in examples/master.cf"));
        entry = paths(entry).replace("user=saslauth", "user=" + HELPER_USER);
        StringBuilder cf = new StringBuilder();
        if (daemonSaslPath != null) {
            // Room for a hundred sessions at once from one client address.
            cf.append("127.0.0.1:").append(daemonPort).append(" inet n - n - 120 smtpd -v\n")
                    .append("  -o smtpd_sasl_path=").append(daemonSaslPath).append('\n')
                    .append("  -o smtpd_client_connection_count_limit=0\n")
                    .append("  -o smtpd_client_connection_rate_limit=0\n");
        }
        for (Variant v : Variant.values()) {
            cf.append("127.0.0.1:").append(ports.get(v)).append(" inet n - n - - smtpd -v\n");
            if (v != Variant.EXAMPLE) {
                cf.append("  -o smtpd_sasl_path=private/").append(v.service).append('\n');
            }
        }
        for (Variant v : Variant.values()) {
            cf.append(entry.replaceFirst("^saslauth", v.service))
                    .append(v.extraArgs.replace("{log}", log.toString()))
                    .append('\n');
        }
        cf.append("""
                cleanup   unix  n       -       n       -       0       cleanup
                qmgr      unix  n       -       n       300     1       qmgr
                rewrite   unix  -       -       n       -       -       trivial-rewrite
                bounce    unix  -       -       n       -       0       bounce
                defer     unix  -       -       n       -       0       bounce
                trace     unix  -       -       n       -       0       bounce
                verify    unix  -       -       n       -       1       verify
                flush     unix  n       -       n       1000?   0       flush
                proxymap  unix  -       -       n       -       -       proxymap
                smtp      unix  -       -       n       -       -       smtp
                relay     unix  -       -       n       -       -       smtp
                showq     unix  n       -       n       -       -       showq
                error     unix  -       -       n       -       -       error
                retry     unix  -       -       n       -       -       error
                discard   unix  -       -       n       -       -       discard
                anvil     unix  -       -       n       -       1       anvil
                scache    unix  -       -       n       -       1       scache
                postlog   unix-dgram n  -       n       -       1       postlogd
                """);
        return cf.toString();
    }

    private Optional<ProcessHandle> readMasterPid() throws IOException {
        Path pidFile = dir.resolve("queue/pid/master.pid");
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(pidFile)) {
                String pid = Files.readString(pidFile).trim();
                if (!pid.isEmpty()) {
                    return ProcessHandle.of(Long.parseLong(pid));
                }
            }
            sleep(50);
        }
        return Optional.empty();
    }

    private void awaitPort(int port, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        IOException last = null;
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                return;
            } catch (IOException e) {
                last = e;
                sleep(100);
            }
        }
        throw new IOException("Postfix does not listen on 127.0.0.1:" + port + " after " + timeout
                + ": " + last + "\n" + maillogTail(30));
    }

    /** Stops Postfix and kills whatever of this instance is left; deletes the directory. */
    @Override
    public void close() {
        stopQuietly();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // already shutting down
        }
        if (System.getenv("SASLAUTH_E2E_KEEP") == null) {
            deleteTree(dir);
        }
    }

    private synchronized void stopQuietly() {
        List<ProcessHandle> family = new ArrayList<>();
        master.ifPresent(m -> {
            family.add(m);
            m.descendants().forEach(family::add);
        });
        try {
            if (Files.exists(etc.resolve("main.cf"))) {
                run(Map.of(), POSTFIX.toString(), "-c", etc.toString(), "stop");
            }
        } catch (IOException | RuntimeException e) {
            // killed below
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline && (family.stream().anyMatch(ProcessHandle::isAlive)
                || !helpers(null).isEmpty())) {
            sleep(100);
        }
        family.forEach(ProcessHandle::destroyForcibly);
        helpers(null).forEach(ProcessHandle::destroyForcibly);
        master = Optional.empty();
    }

    // --- what tests look at ---------------------------------------------------------------------

    int port(Variant v) {
        return ports.get(v);
    }

    /** The smtpd that asks the daemon; see {@link #start(Path, String)}. */
    int daemonPort() {
        return daemonPort;
    }

    /** The queue directory, under which {@code private/NAME} sockets live. */
    Path queueDirectory() {
        return dir.resolve("queue");
    }

    Path saslauthLog(Variant v) {
        return log.resolve(v == Variant.EXAMPLE ? "saslauth.log"
                : v == Variant.DEBUG ? "saslauth-debug.log" : "saslauth-oreore.log");
    }

    String saslauthLogText(Variant v) {
        return readOrEmpty(saslauthLog(v));
    }

    String maillog() {
        return readOrEmpty(dir.resolve("maillog"));
    }

    String maillogTail(int lines) {
        return "--- last lines of Postfix's log ---\n" + tail(maillog(), lines);
    }

    /** Running saslauth helpers of one variant (all variants for null), found by command line. */
    List<ProcessHandle> helpers(Variant v) {
        String jar = installedLauncher == null ? opt.resolve("saslauth.jar").toString()
                : System.getProperty(INSTALLED_JAR, "/usr/share/saslauth/saslauth.jar");
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            return all.filter(p -> {
                ProcessHandle.Info info = p.info();
                String[] args = info.arguments().orElse(new String[0]);
                if (!HELPER_USER.equals(info.user().orElse("")) || !List.of(args).contains(jar)) {
                    return false;
                }
                return v == null || variantOf(args) == v;
            }).toList();
        }
    }

    private static Variant variantOf(String[] args) {
        List<String> list = List.of(args);
        if (list.contains("--log-level")) {
            return Variant.DEBUG;
        }
        return list.contains("--mechanisms") ? Variant.OREORE : Variant.EXAMPLE;
    }

    /** {@code postqueue -p} of this instance. */
    String queueListing() throws IOException {
        return run(Map.of(), "/usr/sbin/postqueue", "-c", etc.toString(), "-p").output();
    }

    // --- plumbing -------------------------------------------------------------------------------

    record Result(int status, String output) {}

    static Result run(Map<String, String> env, String... command) throws IOException {
        return run(COMMAND_TIMEOUT, env, command);
    }

    static Result run(Duration timeout, Map<String, String> env, String... command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(env);
        Path out = Files.createTempFile("saslauth-e2e-cmd-", ".out");
        try {
            pb.redirectOutput(out.toFile());
            Process p = pb.start();
            if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish in " + timeout);
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    static String tail(String text, int lines) {
        List<String> all = text.lines().toList();
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }

    private static String readOrEmpty(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary directory: leave what cannot be deleted
        }
    }
}
