package org.saslauth.cli;

import static org.saslauth.cli.ServingOption.ALLOW_FROM;
import static org.saslauth.cli.ServingOption.LISTEN;
import static org.saslauth.cli.ServingOption.MAX_CONNECTIONS;
import static org.saslauth.cli.ServingOption.METRICS_LISTEN;
import static org.saslauth.cli.ServingOption.SOCKET_GROUP;
import static org.saslauth.cli.ServingOption.SOCKET_MODE;
import static org.saslauth.cli.ServingOption.SOCKET_USER;
import static org.saslauth.cli.ServingOption.USERDB_LISTEN;
import static org.saslauth.cli.ServingOption.USERDB_SOCKET_GROUP;
import static org.saslauth.cli.ServingOption.USERDB_SOCKET_MODE;
import static org.saslauth.cli.ServingOption.USERDB_SOCKET_USER;
import static org.saslauth.cli.ServingOption.WORKERS;

import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Set;
import org.saslauth.daemon.AllowFrom;
import org.saslauth.daemon.Daemon;
import org.saslauth.daemon.ListenAddress;
import org.saslauth.daemon.SocketFile;

/**
 * {@code saslauth daemon}'s own options, typed: its sockets and pools, beside the serving
 * {@link Config}. Apart from it, so that a helper never loads a daemon class.
 *
 * @param workers slow password hashes computed at once
 * @param metricsListen where to serve {@code GET /metrics}, if anywhere
 */
record DaemonConfig(Daemon.Options sockets, int workers, java.util.Optional<ListenAddress.Tcp> metricsListen) {

    /**
     * The values that {@link ServingOption.Type} converted. The userdb socket's mode, user and
     * group are the auth sockets' unless given; the workers are the CPUs, at least 2, unless given.
     */
    @SuppressWarnings("unchecked")
    static DaemonConfig of(Options o) {
        List<ListenAddress> listen = (List<ListenAddress>) o.get(LISTEN);
        SocketFile.Access access = new SocketFile.Access((Set<PosixFilePermission>) o.get(SOCKET_MODE),
                o.string(SOCKET_USER), o.string(SOCKET_GROUP));
        Set<PosixFilePermission> userdbMode = (Set<PosixFilePermission>) o.get(USERDB_SOCKET_MODE);
        SocketFile.Access userdbAccess = new SocketFile.Access(userdbMode == null ? access.mode() : userdbMode,
                orElse(o.string(USERDB_SOCKET_USER), access.user()),
                orElse(o.string(USERDB_SOCKET_GROUP), access.group()));
        Daemon.Options sockets = new Daemon.Options(listen == null ? List.of() : listen, access, userdbAccess,
                (AllowFrom) o.get(ALLOW_FROM), o.path(USERDB_LISTEN), o.count(MAX_CONNECTIONS), true);
        int workers = o.get(WORKERS) == null ? Math.max(2, Runtime.getRuntime().availableProcessors()) : o.count(WORKERS);
        return new DaemonConfig(sockets, workers,
                java.util.Optional.ofNullable((ListenAddress.Tcp) o.get(METRICS_LISTEN)));
    }

    private static String orElse(String value, String fallback) {
        return value != null ? value : fallback;
    }
}
