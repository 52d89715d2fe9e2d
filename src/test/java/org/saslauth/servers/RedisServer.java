package org.saslauth.servers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway Redis (Debian's {@code redis-server}) on a free loopback port, with nothing saved
 * to disk, a password, and its log in a temporary directory; {@link #stop} and {@link
 * #startAgain} on the same port for the outage tests, {@link #pause} (SIGSTOP) for a server that
 * accepts connections but does not answer. Stopped by its pid, also when a test fails.
 */
public final class RedisServer implements AutoCloseable {

    private static final Path BIN = Path.of("/usr/bin/redis-server");
    private static final Path CLI = Path.of("/usr/bin/redis-cli");
    public static final String PASSWORD = "redis-test-password";

    public final Path dir;
    public final int port;
    private Process process;

    private RedisServer(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    public static void require() {
        ServerProcess.require(Files.isExecutable(BIN), "redis-server (package redis-server)");
    }

    public static RedisServer start() throws IOException {
        require();
        Path dir = ServerProcess.tempDir("saslauth-redis-");
        RedisServer redis = new RedisServer(dir, ServerProcess.freePort());
        try {
            ServerProcess.write(dir.resolve("password"), PASSWORD + "\n");
            redis.startAgain();
            return redis;
        } catch (IOException | RuntimeException e) {
            redis.close();
            throw e;
        }
    }

    public void startAgain() throws IOException {
        List<String> cmd = ServerProcess.asUser(BIN.toString(), "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", dir.toString(), "--logfile", dir.resolve("redis.log").toString(),
                "--requirepass", PASSWORD, "--daemonize", "no");
        process = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("stdout.log").toFile()).start();
        ServerProcess.awaitPort(port, Duration.ofSeconds(20), "redis-server");
    }

    /** The password file for {@code penalty-store-password-file}. */
    public Path passwordFile() {
        return dir.resolve("password");
    }

    public String url() {
        return "redis://127.0.0.1:" + port + "/0";
    }

    /** Runs redis-cli with the arguments; its output. */
    public String cli(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(CLI.toString(), "-p", Integer.toString(port), "--no-auth-warning",
                "-a", PASSWORD));
        cmd.addAll(List.of(args));
        return ServerProcess.check(dir, cmd.toArray(new String[0]));
    }

    /** Stops the server at once (SIGKILL), as a crash would. */
    public void stop() throws IOException {
        if (process != null) {
            process.destroyForcibly();
            try {
                process.waitFor(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            process = null;
        }
    }

    /** SIGSTOP ({@code true}) or SIGCONT: connections are accepted by the kernel, nothing is answered. */
    public void pause(boolean paused) throws IOException {
        ServerProcess.check(dir, "kill", paused ? "-STOP" : "-CONT", Long.toString(pid()));
    }

    public long pid() {
        return process.toHandle().descendants().map(ProcessHandle::pid).findFirst().orElse(process.pid());
    }

    @Override
    public void close() {
        try {
            if (process != null) {
                pause(false);
            }
        } catch (IOException | RuntimeException ignored) {
            // being killed anyway
        }
        try {
            stop();
        } catch (IOException ignored) {
            // the directory goes anyway
        }
        ServerProcess.deleteTree(dir);
    }
}
