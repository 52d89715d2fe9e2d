package org.saslauth.cli;

import java.io.IOException;
import java.util.Map;
import java.util.function.Supplier;
import org.saslauth.Log;
import org.saslauth.daemon.AllowFrom;
import org.saslauth.daemon.ListenAddress;
import org.saslauth.metrics.PrometheusMeter;

/**
 * The daemon's {@code --metrics-listen}, apart so that {@link DaemonCommand} loads no metrics
 * class without it. An endpoint that cannot be served is logged and left out: the daemon serves
 * logins all the same, since Postfix refuses every session while the daemon is down.
 */
final class Metrics {

    private Metrics() {}

    /** Serves {@code /metrics}, or logs why not; what to close at the stop either way. */
    static AutoCloseable start(DaemonConfig config, String passdb, Supplier<Map<String, Integer>> connections) {
        ListenAddress.Tcp address = config.metricsListen().orElseThrow();
        AllowFrom allowFrom = config.sockets().allowFrom();
        if (!address.loopback() && allowFrom == null) {
            Log.LOG.error("metrics-listen {} is not a loopback address: give allow-from with the scrapers' addresses;"
                    + " serving without metrics", address);
            return () -> { };
        }
        try {
            PrometheusMeter meter = PrometheusMeter.start(address.address(),
                    allowFrom == null ? a -> true : allowFrom, passdb, connections);
            Log.LOG.info("metrics on http://{}/metrics", address.toString().substring("tcp:".length()));
            return meter;
        } catch (IOException | RuntimeException e) {
            Log.LOG.error("cannot serve metrics on {}: {}; serving without metrics", address, e.getMessage());
            return () -> { };
        }
    }

    static void stop(AutoCloseable metrics) {
        try {
            metrics.close();
        } catch (Exception e) {
            Log.LOG.debug("stopping the metrics endpoint: {}", e.toString());
        }
    }
}
