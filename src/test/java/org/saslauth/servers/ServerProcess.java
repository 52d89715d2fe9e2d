package org.saslauth.servers;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * What the test servers share: a temporary directory owned by the unprivileged user they run
 * as ({@code nobody} when the tests run as root, which PostgreSQL refuses to run as; the
 * current user otherwise), commands run as that user with a time limit, free loopback ports.
 */
public final class ServerProcess {

    static final String USER = "nobody";
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(90);

    private ServerProcess() {}

    public static boolean isRoot() {
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Fails under CI=true, where the Debian packages must be there; skips the test otherwise. */
    public static void require(boolean present, String what) {
        if (present) {
            return;
        }
        String message = what + " is not installed (.ci/run installs it)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail(message);
        }
        Assumptions.abort(message);
    }

    /** A new directory the server's user owns. */
    static Path tempDir(String prefix) throws IOException {
        Path dir = Files.createTempDirectory(prefix);
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        chown(dir);
        return dir;
    }

    static void chown(Path path) throws IOException {
        if (isRoot()) {
            UserPrincipal nobody = path.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(USER);
            Files.setOwner(path, nobody);
        }
    }

    static void write(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardCharsets.UTF_8);
        chown(file);
    }

    /** The command as the server's user. */
    static List<String> asUser(String... command) {
        List<String> out = new ArrayList<>();
        if (isRoot()) {
            out.addAll(List.of("setpriv", "--reuid=" + USER, "--regid=nogroup", "--clear-groups", "--"));
        }
        out.addAll(List.of(command));
        return out;
    }

    record Result(int status, String output) {}

    /** Runs a command as the server's user in {@code dir}; its output (both streams) is returned. */
    static Result run(Path dir, String... command) throws IOException {
        Path out = Files.createTempFile(dir, "cmd-", ".out");
        chown(out);
        ProcessBuilder pb = new ProcessBuilder(asUser(command)).directory(dir.toFile())
                .redirectErrorStream(true).redirectOutput(out.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        pb.environment().put("LC_ALL", "C.UTF-8");
        Process p = pb.start();
        try {
            if (!p.waitFor(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new IOException("timed out: " + String.join(" ", command));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        String text = Files.readString(out);
        Files.delete(out);
        return new Result(p.exitValue(), text);
    }

    /** {@link #run}, failing with the output unless the command exits 0. */
    static String check(Path dir, String... command) throws IOException {
        Result r = run(dir, command);
        if (r.status() != 0) {
            throw new IOException(String.join(" ", command) + " exited " + r.status() + ": " + r.output());
        }
        return r.output();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Waits until something accepts connections on the loopback port. */
    static void awaitPort(int port, Duration limit, String what) throws IOException {
        long end = System.nanoTime() + limit.toNanos();
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
                return;
            } catch (IOException e) {
                if (System.nanoTime() > end) {
                    throw new IOException(what + " does not accept connections on port " + port);
                }
                sleep(100);
            }
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temporary directory: best effort
        }
    }
}
