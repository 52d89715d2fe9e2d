package org.saslauth.daemon;

import static org.saslauth.Log.LOG;

import java.io.IOException;
import java.net.InetAddress;
import java.net.StandardProtocolFamily;
import java.nio.channels.Channel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.function.Predicate;
import org.saslauth.protocol.Limits;
import org.saslauth.protocol.Scheduler;

/**
 * The daemon's listeners and lifecycle: binds every {@code --listen} address (and a listening
 * socket inherited as stdin from systemd), serves the auth protocol on them and auth-master
 * userdb lookups on {@code --userdb-listen}, and stops on SIGTERM: no new connections, the socket
 * files removed, what is in flight answered, then exit status 0.
 */
public final class Daemon {

    /**
     * What to listen on and how; see the {@code daemon} command's options of the same names.
     * {@code access} is for the {@code listen} sockets, {@code userdbAccess} for {@code userdbListen}.
     */
    public record Options(List<ListenAddress> listen, SocketFile.Access access, SocketFile.Access userdbAccess,
            AllowFrom allowFrom, Path userdbListen, int maxConnections, boolean inherit) {}

    private final ConnectionServer server;
    private final Duration drain;
    private final CountDownLatch stopRequested;
    private final Scheduler clock;

    private Daemon(ConnectionServer server, Duration drain, CountDownLatch stopRequested, Scheduler clock) {
        this.server = server;
        this.drain = drain;
        this.stopRequested = stopRequested;
        this.clock = clock;
    }

    /**
     * Binds every listener. {@code drain} is how long a stop waits for answers in flight (the
     * longest a FAIL may be held back, plus a margin); {@code stopRequested} is counted down to
     * stop (by the signal handlers, installed before this is called).
     *
     * @throws SocketFile.Unusable when a socket cannot be had: a live server on it, a bad
     *     owner or group, a public TCP address without {@code --allow-from}, nothing to listen on
     */
    public static Daemon bind(Options o, ConnectionHandler auth, ConnectionHandler userdb, Duration drain,
            CountDownLatch stopRequested)
            throws SocketFile.Unusable, IOException {
        return bind(o, auth, userdb, drain, stopRequested, Scheduler.system());
    }

    /** {@link #bind(Options, ConnectionHandler, ConnectionHandler, Duration, CountDownLatch)} on {@code clock}. */
    public static Daemon bind(Options o, ConnectionHandler auth, ConnectionHandler userdb, Duration drain,
            CountDownLatch stopRequested, Scheduler clock)
            throws SocketFile.Unusable, IOException {
        ConnectionServer server = new ConnectionServer(o.maxConnections(), Limits.DEFAULT, clock);
        List<Runnable> undo = new ArrayList<>();
        boolean done = false;
        try {
            int listeners = 0;
            Predicate<InetAddress> allowed = o.allowFrom() == null ? a -> true : o.allowFrom();
            if (o.inherit()) {
                Channel inherited = System.inheritedChannel();
                if (inherited instanceof ServerSocketChannel ssc) {
                    // The same rule as for --listen tcp:, however the socket was made (ListenStream=P)
                    if (ssc.getLocalAddress() instanceof java.net.InetSocketAddress inet
                            && !inet.getAddress().isLoopbackAddress()) {
                        if (o.allowFrom() == null) {
                            throw new SocketFile.Unusable("the socket inherited as stdin (" + ssc.getLocalAddress()
                                    + ") is not on a loopback address: the protocol is plaintext, so --allow-from"
                                    + " must name the clients (or ListenStream=127.0.0.1:PORT in the socket unit)");
                        }
                        LOG.warn("listening on the socket inherited as stdin ({}), reachable from other hosts: the"
                                + " protocol is plaintext (passwords in base64); clients allowed: --allow-from",
                                ssc.getLocalAddress());
                    }
                    server.listen("inherited", ssc, auth, allowed, () -> { });
                    LOG.info("listening on the socket inherited as stdin ({})", ssc.getLocalAddress());
                    listeners++;
                } else if (inherited instanceof SocketChannel) {
                    throw new SocketFile.Unusable("stdin is a connected socket: the systemd socket unit needs"
                            + " Accept=no (one daemon for all connections)");
                }
            }
            for (ListenAddress a : o.listen()) {
                listen(server, a, o, o.access(), auth, allowed, undo);
                listeners++;
            }
            if (o.userdbListen() != null) {
                listen(server, new ListenAddress.Unix(o.userdbListen()), o, o.userdbAccess(), userdb, allowed, undo);
            }
            if (listeners == 0) {
                throw new SocketFile.Unusable("nothing to listen on: give --listen, or start it from a systemd"
                        + " socket unit (a listening socket as stdin)");
            }
            done = true;
            return new Daemon(server, drain, stopRequested, clock);
        } finally {
            if (!done) {
                undo.forEach(Runnable::run);
            }
        }
    }

    private static void listen(ConnectionServer server, ListenAddress a, Options o, SocketFile.Access access,
            ConnectionHandler handler, Predicate<InetAddress> allowed, List<Runnable> undo)
            throws SocketFile.Unusable, IOException {
        if (a instanceof ListenAddress.Unix u) {
            SocketFile file = SocketFile.bind(u.path(), access);
            undo.add(() -> {
                file.remove();
                closeQuietly(file.channel());
            });
            server.listen(a.toString(), file.channel(), handler, allowed, file::remove);
        } else if (a instanceof ListenAddress.Tcp t) {
            if (!t.loopback() && o.allowFrom() == null) {
                throw new SocketFile.Unusable("--listen " + t + " is not a loopback address: the protocol is"
                        + " plaintext, so --allow-from must name the clients");
            }
            ServerSocketChannel ch = ServerSocketChannel.open(t.address().getAddress() instanceof java.net.Inet6Address
                    ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
            undo.add(() -> closeQuietly(ch));
            ch.setOption(java.net.StandardSocketOptions.SO_REUSEADDR, true);
            try {
                ch.bind(t.address(), 512);
            } catch (IOException e) {
                throw new SocketFile.Unusable("cannot listen on " + t + ": " + e.getMessage());
            }
            if (!t.loopback()) {
                LOG.warn("listening on {}, reachable from other hosts: the protocol is plaintext (passwords in"
                        + " base64); clients allowed: --allow-from", t);
            }
            server.listen(a.toString(), ch, handler, allowed, () -> { });
        }
        LOG.info("listening on {}", a);
    }

    private static void closeQuietly(java.nio.channels.Channel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // closed anyway
        }
    }

    public void start() {
        server.start();
    }

    /** Connections open now. */
    public int connectionCount() {
        return server.connectionCount();
    }

    /** Connections open now on each listener ({@code inherited} for systemd's socket). */
    public java.util.Map<String, Integer> connectionsByListener() {
        return server.connectionsByListener();
    }

    /**
     * Starts, then serves until the stop is requested (SIGTERM, SIGINT), then stops
     * accepting, lets what is in flight be answered for up to the drain time, and returns.
     */
    public void serveUntilStopped() {
        start();
        LOG.info("serving (pid {})", org.saslauth.Pid.CURRENT);
        try {
            stopRequested.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        stop();
    }

    /** Stops accepting, drains, closes; returns whether every connection finished in time. */
    public boolean stop() {
        int before = server.connectionCount();
        long start = clock.nanoTime();
        boolean clean = server.stop(drain);
        LOG.info("stopped: {} connection(s) open at the stop {} in {} ms", before,
                clean ? "finished" : "did not all finish", (clock.nanoTime() - start) / 1_000_000);
        return clean;
    }
}
