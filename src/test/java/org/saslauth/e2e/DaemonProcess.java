package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code saslauth daemon} started by a test through the launcher {@code examples/saslauth}, as
 * the README installs it, running {@code target/saslauth.jar}; its stdout and stderr go to files.
 */
final class DaemonProcess implements AutoCloseable {

    final Process process;
    final Path dir;
    final Path log;

    private DaemonProcess(Process process, Path dir, Path log) {
        this.process = process;
        this.dir = dir;
        this.log = log;
    }

    static Path projectDir() {
        return Path.of(System.getProperty("basedir", "."));
    }

    static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(projectDir().resolve("examples/saslauth").toString());
        cmd.add("daemon");
        cmd.addAll(List.of(args));
        return cmd;
    }

    static ProcessBuilder builder(Path dir, List<String> command) {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("SASLAUTH_JAR", projectDir().resolve("target/saslauth.jar").toString());
        pb.redirectOutput(dir.resolve("stdout").toFile());
        pb.redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve("stderr").toFile()));
        return pb;
    }

    /**
     * Starts the daemon with {@code --log-file DIR/daemon.log --log-level debug} and the given
     * arguments, and waits until it serves (its log says so) or the process ended; then
     * {@code ready} (a socket file) must exist.
     */
    static DaemonProcess start(Path dir, Path ready, String... args) throws IOException {
        return startLogging("debug", dir, ready, args);
    }

    /** {@link #start} with {@code --log-level level}. */
    static DaemonProcess startLogging(String level, Path dir, Path ready, String... args) throws IOException {
        Path jar = projectDir().resolve("target/saslauth.jar");
        if (!Files.isReadable(jar)) {
            fail(jar + " is missing: run the integration tests through `mvn verify`");
        }
        Path log = dir.resolve("daemon.log");
        List<String> cmd = command(args);
        cmd.addAll(List.of("--log-file", log.toString(), "--log-level", level));
        DaemonProcess d = new DaemonProcess(builder(dir, cmd).start(), dir, log);
        d.awaitServing(Duration.ofSeconds(20));
        d.awaitFile(ready, Duration.ofSeconds(1));
        return d;
    }

    /**
     * System property: the path of an installed {@code saslauth.service} (the Debian package's);
     * {@link #startAsUnit} then starts the daemon with that unit's {@code ExecStart} line.
     */
    static final String UNIT = "saslauth.e2e.unit";

    static boolean unitMode() {
        return System.getProperty(UNIT) != null;
    }

    /**
     * As systemd would start the installed units without a running systemd: the socket of
     * {@code saslauth.socket} (its owner, group and mode) made at {@code socket} and handed over
     * as stdin, then the {@code ExecStart} line of {@code saslauth.service} as its {@code User}
     * and {@code Group}, in an empty environment, with {@code args}, a log file in {@code dir}
     * and debug logging appended.
     */
    static DaemonProcess startAsUnit(Path dir, Path socket, String... args) throws IOException {
        Path service = Path.of(System.getProperty(UNIT));
        Map<String, String> svc = unitKeys(service);
        Map<String, String> sock = unitKeys(service.resolveSibling("saslauth.socket"));
        java.nio.file.attribute.UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
        Files.setOwner(dir, users.lookupPrincipalByName(svc.get("User")));
        Path log = dir.resolve("daemon.log");
        List<String> cmd = new ArrayList<>(List.of("perl", "-MSocket", "-e", SOCKET_ACTIVATION, socket.toString(),
                sock.get("SocketUser"), sock.get("SocketGroup"), sock.get("SocketMode"), svc.get("User"), svc.get("Group")));
        cmd.addAll(List.of(svc.get("ExecStart").trim().split("\\s+")));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--log-file", log.toString(), "--log-level", "debug"));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        pb.redirectOutput(dir.resolve("stdout").toFile());
        pb.redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve("stderr").toFile()));
        DaemonProcess d = new DaemonProcess(pb.start(), dir, log);
        d.awaitServing(Duration.ofSeconds(20));
        d.awaitFile(socket, Duration.ofSeconds(1));
        return d;
    }

    /** Binds and listens like a socket unit, dups the socket to stdin, drops to User and Group, execs. */
    private static final String SOCKET_ACTIVATION = """
            my ($path, $owner, $group, $mode, $user, $ugroup, @cmd) = @ARGV;
            unlink $path;
            socket(my $s, AF_UNIX, SOCK_STREAM, 0) or die "socket: $!";
            bind($s, pack_sockaddr_un($path)) or die "bind $path: $!";
            listen($s, SOMAXCONN) or die "listen: $!";
            chown scalar(getpwnam($owner)), scalar(getgrnam($group)), $path or die "chown: $!";
            chmod oct($mode), $path or die "chmod: $!";
            open(STDIN, "<&", $s) or die "dup: $!";
            close $s;
            my $gid = getgrnam($ugroup); my $uid = getpwnam($user);
            $( = $gid; $) = "$gid $gid"; $< = $> = $uid;
            die "cannot become $user" if $> != $uid || $< != $uid;
            exec { $cmd[0] } @cmd or die "exec $cmd[0]: $!";
            """;

    /** The last value of each key of a systemd unit file. */
    static Map<String, String> unitKeys(Path unit) throws IOException {
        Map<String, String> keys = new java.util.HashMap<>();
        for (String line : Files.readAllLines(unit)) {
            int eq = line.indexOf('=');
            if (!line.startsWith("#") && !line.startsWith("[") && eq > 0) {
                keys.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
            }
        }
        return keys;
    }

    /** Until the log says "serving (pid N)" with this process's pid (the launcher execs java). */
    void awaitServing(Duration timeout) {
        String line = "serving (pid " + process.pid() + ")";
        long deadline = System.nanoTime() + timeout.toNanos();
        while (count(line) == 0 && process.isAlive() && System.nanoTime() < deadline) {
            PostfixInstance.sleep(20);
        }
        if (count(line) == 0) {
            fail("the daemon does not serve (alive: " + process.isAlive() + ")\n" + logText());
        }
    }

    void awaitFile(Path file, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!Files.exists(file) && process.isAlive() && System.nanoTime() < deadline) {
            PostfixInstance.sleep(20);
        }
        if (!Files.exists(file)) {
            fail("the daemon did not make " + file + " (alive: " + process.isAlive() + ")\n" + logText());
        }
    }

    /** SIGTERM; returns the exit status. */
    int terminate(Duration timeout) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            fail("the daemon did not exit within " + timeout + " of SIGTERM\n" + logText());
        }
        return process.exitValue();
    }

    String logText() {
        try {
            String stderr = Files.exists(dir.resolve("stderr")) ? Files.readString(dir.resolve("stderr")) : "";
            return "--- daemon log ---\n" + (Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "")
                    + "--- stderr ---\n" + stderr;
        } catch (IOException e) {
            return e.toString();
        }
    }

    long count(String text) {
        try {
            return Files.exists(log) ? Files.readString(log).lines().filter(l -> l.contains(text)).count() : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
