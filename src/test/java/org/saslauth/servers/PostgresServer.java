package org.saslauth.servers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A throwaway PostgreSQL 15 cluster: {@code initdb} in a temporary directory, {@code pg_ctl}
 * starting it on a free loopback port with its socket in that directory, run as an
 * unprivileged user; password (SCRAM) authentication over TCP, trust over its own socket.
 */
public final class PostgresServer implements AutoCloseable {

    private static final Path BIN = Path.of("/usr/lib/postgresql/15/bin");

    public final Path dir;
    public final int port;
    private final Path data;

    private PostgresServer(Path dir, int port) {
        this.dir = dir;
        this.port = port;
        this.data = dir.resolve("data");
    }

    public static void require() {
        ServerProcess.require(Files.isExecutable(BIN.resolve("initdb")), "PostgreSQL 15 (package postgresql)");
    }

    public static PostgresServer start() throws IOException {
        require();
        Path dir = ServerProcess.tempDir("saslauth-pg-");
        PostgresServer pg = new PostgresServer(dir, ServerProcess.freePort());
        try {
            ServerProcess.check(dir, BIN.resolve("initdb").toString(), "-D", pg.data.toString(), "-U", "postgres",
                    "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync");
            pg.startAgain();
            return pg;
        } catch (IOException | RuntimeException e) {
            pg.close();
            throw e;
        }
    }

    public void startAgain() throws IOException {
        ServerProcess.check(dir, BIN.resolve("pg_ctl").toString(), "-D", data.toString(), "-l",
                dir.resolve("server.log").toString(), "-w", "-t", "60", "-o",
                "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off", "start");
        ServerProcess.awaitPort(port, Duration.ofSeconds(30), "PostgreSQL");
    }

    /** Stops the server at once, as a crash or a kill would. */
    public void stop() throws IOException {
        ServerProcess.check(dir, BIN.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "immediate", "-w",
                "stop");
    }

    /** Runs SQL as the superuser, in database {@code db}. */
    public String sql(String db, String sql) throws IOException {
        Path file = dir.resolve("script.sql");
        ServerProcess.write(file, sql);
        return ServerProcess.check(dir, BIN.resolve("psql").toString(), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                "-h", dir.toString(), "-p", Integer.toString(port), "-U", "postgres", "-d", db, "-f", file.toString());
    }

    public String url(String db) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + db;
    }

    /** The server process's id, from its pid file, for tests that stop it with a signal. */
    public long pid() throws IOException {
        return Long.parseLong(Files.readAllLines(data.resolve("postmaster.pid")).get(0).strip());
    }

    @Override
    public void close() {
        try {
            if (Files.exists(data.resolve("postmaster.pid"))) {
                stop();
            }
        } catch (IOException ignored) {
            // the directory goes anyway
        }
        ServerProcess.deleteTree(dir);
    }
}
