package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.InetAddress;
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
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

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
 *   <li>{@link Variant#OREORE}: the same plus {@code --mechanisms PLAIN,LOGIN,OREORE};
 *   <li>{@link Variant#CHALLENGE}: the same plus CRAM-MD5 and SCRAM, on a passwd file that adds
 *       entries made by {@code doveadm pw} ({@link #CHALLENGE_USERS}).
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
        OREORE("saslauth_oreore", " --mechanisms PLAIN,LOGIN,OREORE --log-file {log}/saslauth-oreore.log"),
        CHALLENGE("saslauth_challenge", " --mechanisms PLAIN,LOGIN,CRAM-MD5,SCRAM-SHA-1,SCRAM-SHA-256"
                + " --passwd-file {etc}/challenge.passwd --log-file {log}/saslauth-challenge.log");

        final String service;
        final String extraArgs;

        Variant(String service, String extraArgs) {
            this.service = service;
            this.extraArgs = extraArgs;
        }
    }

    /**
     * The users {@link Variant#CHALLENGE} adds to the example's: user, scheme, password; each
     * entry is made by {@code doveadm pw} when the instance starts.
     */
    static final List<List<String>> CHALLENGE_USERS = List.of(
            List.of("cram", "CRAM-MD5", "cram-password"),
            List.of("cram8", "CRAM-MD5", "cr\u00e4m-p\u00e4ssw\u00f6rd"),
            List.of("scram1", "SCRAM-SHA-1", "scram1-password"),
            List.of("scram1u", "SCRAM-SHA-1", "scr\u00e4m1-p\u00e4ssw\u00f6rd"),
            List.of("scram256", "SCRAM-SHA-256", "scram256-password"),
            List.of("scram256u", "SCRAM-SHA-256", "scr\u00e4m256-p\u00e4ssw\u00f6rd"),
            List.of("plain8", "PLAIN", "pl\u00e4in-p\u00e4ssw\u00f6rd"));

    /**
     * Programs the tests run, by the Debian package that brings them: the clients that speak
     * CRAM-MD5 and SCRAM, and doveadm, which makes their users' entries.
     */
    private static final Map<String, String> CLIENT_PACKAGES = Map.of(
            "/usr/bin/swaks", "swaks",
            "/usr/share/perl5/Digest/HMAC_MD5.pm", "libdigest-hmac-perl",
            "/usr/bin/gsasl", "gsasl",
            "/usr/bin/curl", "curl",
            "/usr/bin/python3", "python3",
            "/usr/bin/doveadm", "dovecot-core");

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

    /**
     * A further spawn service and smtpd port, for a test of its own: the example's service with
     * its own properties file (written to {@code etc/NAME.properties}, where {@code {log}} and
     * {@code {etc}} stand for this instance's directories), run by spawn(8) as {@code user}, with
     * {@code args} (each after a space, {@code {log}} and {@code {etc}} replaced) after the
     * entry's argv.
     */
    record Service(String name, String properties, String user, String args) {
        Service(String name, String properties) {
            this(name, properties, HELPER_USER);
        }

        Service(String name, String properties, String user) {
            this(name, properties, user, "");
        }
    }

    final Path dir;
    private final Path etc;
    private final List<Service> services;
    private final Map<String, Integer> servicePorts = new java.util.HashMap<>();
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

    /** The java the launcher is given as SASLAUTH_JAVA, or null for its default. */
    final Path runtime;

    private PostfixInstance(Path dir, Map<Variant, Integer> ports, List<Service> services, Path runtime) {
        this.runtime = runtime;
        this.dir = dir;
        this.services = services;
        this.etc = dir.resolve("etc");
        this.opt = dir.resolve("opt");
        this.log = dir.resolve("log");
        this.ports = ports;
        this.shutdownHook = new Thread(this::stopQuietly, "postfix-e2e-stop");
    }

    // --- installation ---------------------------------------------------------------------------

    /** The system property that names the runtime of the helpers: a java binary, or a feature version. */
    static final String JAVA_PROPERTY = "saslauth.e2e.java";

    /**
     * The runtime the helpers run on, from {@value #JAVA_PROPERTY}: empty for the launcher's
     * default ({@code java} on the PATH), a path to a java binary, or a feature version such as
     * {@code 25}, found under {@code /usr/lib/jvm}. When that runtime is not on this machine the
     * test is skipped, saying so.
     */
    static Path requireRuntime() {
        String wanted = System.getProperty(JAVA_PROPERTY, "").strip();
        if (wanted.isEmpty()) {
            return null;
        }
        Path java = null;
        if (wanted.matches("[0-9]+")) {
            java = jdkOfVersion(wanted);
        } else if (Files.isExecutable(Path.of(wanted))) {
            java = Path.of(wanted);
        }
        if (java == null) {
            Assumptions.abort(missingRuntime(wanted));
        }
        return java;
    }

    private static String missingRuntime(String wanted) {
        return "no Java " + wanted + " on this machine (" + JAVA_PROPERTY + "=" + wanted
                + ", looked in /usr/lib/jvm): the Postfix end-to-end test on that runtime is skipped";
    }

    /**
     * Skips the whole test class, with the reason in its report, when the runtime asked for is
     * not on this machine.
     */
    static final class RuntimeCondition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            String wanted = System.getProperty(JAVA_PROPERTY, "").strip();
            boolean found = wanted.isEmpty()
                    || (wanted.matches("[0-9]+") ? jdkOfVersion(wanted) != null : Files.isExecutable(Path.of(wanted)));
            return found ? ConditionEvaluationResult.enabled("runtime: " + (wanted.isEmpty() ? "java" : wanted))
                    : ConditionEvaluationResult.disabled(missingRuntime(wanted));
        }
    }

    /** bin/java of a JDK under /usr/lib/jvm whose release file says that feature version. */
    private static Path jdkOfVersion(String feature) {
        Pattern version = Pattern.compile("(?m)^JAVA_VERSION=\"" + feature + "([.\"])");
        try (Stream<Path> jdks = Files.list(Path.of("/usr/lib/jvm"))) {
            return jdks.sorted(Comparator.reverseOrder())
                    .filter(jdk -> Files.isExecutable(jdk.resolve("bin/java")))
                    .filter(jdk -> version.matcher(readOrEmpty(jdk.resolve("release"))).find())
                    .map(jdk -> jdk.resolve("bin/java"))
                    .findFirst().orElse(null);
        } catch (IOException e) {
            return null;
        }
    }

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
        List<String> missing = new ArrayList<>();
        if (!Files.isExecutable(POSTFIX) || !Files.isExecutable(SPAWN)) {
            missing.add("postfix");
        }
        CLIENT_PACKAGES.forEach((path, pkg) -> {
            if (!Files.exists(Path.of(path))) {
                missing.add(pkg);
            }
        });
        if (missing.isEmpty()) {
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
            List<String> command = new ArrayList<>(List.of("apt-get", "install", "-y", "-q", "--no-install-recommends"));
            command.addAll(missing);
            Result install = run(APT_TIMEOUT, env, command.toArray(String[]::new));
            if (install.status() != 0 || !Files.isExecutable(POSTFIX)) {
                return "apt-get install " + String.join(" ", missing) + " failed: "
                        + tail(update.output() + install.output(), 15);
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
        return start(projectDir, List.of(), null);
    }

    /** {@link #start(Path)} with further services. */
    static PostfixInstance start(Path projectDir, List<Service> services) throws IOException {
        return start(projectDir, services, null);
    }

    /**
     * As {@link #start(Path)}, plus one more smtpd (on {@link #daemonPort()}) whose
     * {@code smtpd_sasl_path} is {@code daemonSaslPath}: a socket of {@code saslauth daemon},
     * which the test starts itself.
     */
    static PostfixInstance start(Path projectDir, String daemonSaslPath) throws IOException {
        return start(projectDir, List.of(), daemonSaslPath);
    }

    private static PostfixInstance start(Path projectDir, List<Service> services, String daemonSaslPath)
            throws IOException {
        Path jar = projectDir.resolve("target/saslauth.jar");
        if (!Files.isReadable(jar)) {
            fail(jar + " is missing: run the integration tests through `mvn verify`");
        }
        Path java = requireRuntime();
        Path dir = Files.createTempDirectory("saslauth-e2e-");
        PostfixInstance pf = new PostfixInstance(dir, freePorts(), services, java);
        pf.daemonSaslPath = daemonSaslPath;
        if (daemonSaslPath != null) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                pf.daemonPort = s.getLocalPort();
            }
        }
        try {
            for (Service s : services) {
                try (ServerSocket held = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                    pf.servicePorts.put(s.name(), held.getLocalPort());
                }
            }
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
            for (int port : pf.servicePorts.values()) {
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
            Map<Variant, Integer> ports = new java.util.EnumMap<>(Variant.class);
            for (Variant v : Variant.values()) {
                ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
                held.add(s);
                ports.put(v, s.getLocalPort());
            }
            return ports;
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
            Result cds = run(runtime == null ? Map.of() : Map.of("SASLAUTH_JAVA", runtime.toString()),
                    opt.resolve("saslauth").toString(), "cds");
            if (cds.status() != 0 || !Files.isRegularFile(opt.resolve("saslauth.jsa"))) {
                throw new IllegalStateException("saslauth cds failed: " + cds.output());
            }
        }

        String properties = paths(Files.readString(examples.resolve("saslauth.properties")))
                .replaceAll("(?m)^failure-delay *=.*$", "failure-delay = " + FAILURE_DELAY.toSeconds() + "s");
        Files.writeString(etc.resolve("saslauth.properties"), properties);
        for (Service s : services) {
            Files.writeString(etc.resolve(s.name() + ".properties"),
                    s.properties().replace("{log}", log.toString()).replace("{etc}", etc.toString()));
        }

        StringBuilder challenge = new StringBuilder(Files.readString(examples.resolve("users.passwd")));
        for (List<String> u : CHALLENGE_USERS) {
            challenge.append(u.get(0)).append(':').append(doveadmPw(u.get(1), u.get(2))).append('\n');
        }
        Files.writeString(etc.resolve("challenge.passwd"), challenge, StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(etc.resolve("challenge.passwd"), PosixFilePermissions.fromString("rw-r--r--"));

        Files.writeString(etc.resolve("main.cf"), mainCf(Files.readString(examples.resolve("main.cf"))));
        Files.writeString(etc.resolve("master.cf"), masterCf(Files.readString(examples.resolve("master.cf"))));
    }

    /** {@code doveadm pw -s SCHEME -p PASSWORD}, the password passed byte for byte whatever the locale. */
    private static String doveadmPw(String scheme, String password) throws IOException {
        Result r = run(Map.of(), "/bin/sh", "-c", "exec /usr/bin/doveadm pw -s \"$1\" -p \"$(printf \"$2\")\"", "sh",
                scheme, octal(password));
        String hash = r.output().strip();
        if (r.status() != 0 || !hash.startsWith("{" + scheme + "}")) {
            throw new IllegalStateException("doveadm pw -s " + scheme + " failed: " + r.output());
        }
        return hash;
    }

    /** printf(1)'s octal escapes for the UTF-8 bytes of {@code text}: plain ASCII on a command line. */
    static String octal(String text) {
        StringBuilder out = new StringBuilder();
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            out.append(String.format("\\%03o", b & 0xff));
        }
        return out.toString();
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
        for (Service s : services) {
            cf.append(s.name()).append("_time_limit = 3600s\n");
        }
        cf.append("compatibility_level = 3.6\n")
                .append("queue_directory = ").append(dir.resolve("queue")).append('\n')
                .append("data_directory = ").append(dir.resolve("data")).append('\n')
                .append("mail_owner = postfix\n")
                .append("setgid_group = postdrop\n")
                .append("import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C\n")
                // spawn(8) gives the helpers this environment, and so the runtime to use
                .append("export_environment = TZ MAIL_CONFIG LANG")
                .append(runtime == null ? "" : " SASLAUTH_JAVA=" + runtime).append('\n')
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
        for (Service s : services) {
            cf.append("127.0.0.1:").append(servicePorts.get(s.name())).append(" inet n - n - - smtpd -v\n")
                    .append("  -o smtpd_sasl_path=private/").append(s.name()).append('\n')
                    .append(entry.replaceFirst("^saslauth", s.name())
                            .replace(etc.resolve("saslauth.properties").toString(),
                                    etc.resolve(s.name() + ".properties").toString())
                            .replace("user=" + HELPER_USER, "user=" + s.user()))
                    .append(s.args().replace("{log}", log.toString()).replace("{etc}", etc.toString()))
                    .append('\n');
        }
        for (Variant v : Variant.values()) {
            cf.append(entry.replaceFirst("^saslauth", v.service))
                    .append(v.extraArgs.replace("{log}", log.toString()).replace("{etc}", etc.toString()))
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

    int port(Service s) {
        return servicePorts.get(s.name());
    }

    Path etc() {
        return etc;
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
        return log.resolve(switch (v) {
            case EXAMPLE -> "saslauth.log";
            case DEBUG -> "saslauth-debug.log";
            case OREORE -> "saslauth-oreore.log";
            case CHALLENGE -> "saslauth-challenge.log";
        });
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

    /** The start-up cache that {@code saslauth cds} made at install time. */
    Path startupCache() {
        // the Debian package's launcher keeps it where its postinst makes it
        return installedLauncher == null ? opt.resolve("saslauth.jsa") : Path.of("/var/cache/saslauth/saslauth.jsa");
    }

    /**
     * Running saslauth helpers of one variant, found by command line; for null, every helper of
     * this instance, those of its further services too.
     */
    List<ProcessHandle> helpers(Variant v) {
        String jar = installedLauncher == null ? opt.resolve("saslauth.jar").toString()
                : System.getProperty(INSTALLED_JAR, "/usr/share/saslauth/saslauth.jar");
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            return all.filter(p -> {
                ProcessHandle.Info info = p.info();
                String[] args = info.arguments().orElse(new String[0]);
                String user = info.user().orElse("");
                // all of them (to stop them) includes those of services run as users of their own
                boolean ours = HELPER_USER.equals(user)
                        || v == null && services.stream().anyMatch(s -> user.equals(s.user().split(":")[0]));
                if (!ours || !List.of(args).contains(jar)) {
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
        if (list.contains("--mechanisms")) {
            return list.get(list.indexOf("--mechanisms") + 1).contains("OREORE") ? Variant.OREORE : Variant.CHALLENGE;
        }
        return Variant.EXAMPLE;
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
