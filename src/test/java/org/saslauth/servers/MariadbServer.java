package org.saslauth.servers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway MariaDB server: {@code mariadb-install-db} into a temporary directory, then
 * {@code mariadbd --datadir} on a free loopback port with its socket in that directory, run as
 * an unprivileged user, without the packaged configuration ({@code --no-defaults}).
 */
public final class MariadbServer implements AutoCloseable {

    public final Path dir;
    public final int port;
    private final Path data;
    private final Path socket;
    private Process process;

    private MariadbServer(Path dir, int port) {
        this.dir = dir;
        this.port = port;
        this.data = dir.resolve("data");
        this.socket = dir.resolve("mysqld.sock");
    }

    public static void require() {
        ServerProcess.require(Files.isExecutable(Path.of("/usr/sbin/mariadbd"))
                && Files.isExecutable(Path.of("/usr/bin/mariadb-install-db")), "MariaDB (package mariadb-server)");
    }

    public static MariadbServer start() throws IOException {
        require();
        Path dir = ServerProcess.tempDir("saslauth-mariadb-");
        MariadbServer db = new MariadbServer(dir, ServerProcess.freePort());
        try {
            ServerProcess.check(dir, "/usr/bin/mariadb-install-db", "--no-defaults", "--datadir=" + db.data,
                    "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve");
            db.startAgain();
            return db;
        } catch (IOException | RuntimeException e) {
            db.close();
            throw e;
        }
    }

    public void startAgain() throws IOException {
        ProcessBuilder pb = new ProcessBuilder(ServerProcess.asUser("/usr/sbin/mariadbd", "--no-defaults",
                "--datadir=" + data, "--socket=" + socket, "--port=" + port, "--bind-address=127.0.0.1",
                "--pid-file=" + dir.resolve("mariadbd.pid"), "--skip-log-bin", "--skip-name-resolve",
                "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M", "--performance-schema=off",
                "--log-error=" + dir.resolve("server.log")))
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("stdout.log").toFile()));
        process = pb.start();
        ServerProcess.awaitPort(port, Duration.ofSeconds(60), "MariaDB");
    }

    /** Stops the server at once, as a crash or a kill would. */
    public void stop() {
        if (process == null) {
            return;
        }
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    /** Runs SQL as root, in database {@code db} (null for none). */
    public String sql(String db, String sql) throws IOException {
        Path file = dir.resolve("script.sql");
        ServerProcess.write(file, sql);
        return ServerProcess.check(dir, "/bin/sh", "-c", "exec mariadb --no-defaults -S \"$0\" -u root "
                + (db == null ? "" : db) + " < \"$1\"", socket.toString(), file.toString());
    }

    public String url(String db) {
        return "jdbc:mariadb://127.0.0.1:" + port + "/" + db;
    }

    /** The server's process id. */
    public long pid() {
        return process.descendants().map(ProcessHandle::pid).findFirst().orElse(process.pid());
    }

    @Override
    public void close() {
        stop();
        ServerProcess.deleteTree(dir);
    }
}
