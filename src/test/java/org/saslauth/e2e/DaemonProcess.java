package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
        Path jar = projectDir().resolve("target/saslauth.jar");
        if (!Files.isReadable(jar)) {
            fail(jar + " is missing: run the integration tests through `mvn verify`");
        }
        Path log = dir.resolve("daemon.log");
        List<String> cmd = command(args);
        cmd.addAll(List.of("--log-file", log.toString(), "--log-level", "debug"));
        DaemonProcess d = new DaemonProcess(builder(dir, cmd).start(), dir, log);
        d.awaitServing(Duration.ofSeconds(20));
        d.awaitFile(ready, Duration.ofSeconds(1));
        return d;
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
