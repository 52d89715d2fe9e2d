package org.saslauth.metrics;

import com.sun.net.httpserver.Authenticator;
import com.sun.net.httpserver.HttpExchange;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMemoryMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.saslauth.Meter;

/**
 * The daemon's {@code --metrics-listen}: the {@link Meter} as Prometheus counters, a histogram and
 * gauges, served by client_java's HTTP server on {@code GET /metrics} in the Prometheus text
 * format, or OpenMetrics when the scraper asks for it. Its classes load only when the option is
 * set. The labels are the mechanism, the result, the passdb and the listener: never a user name
 * or a client address, so that the series stay few and say nothing about anyone. No exemplars:
 * there is no trace to point at, and looking for one costs every login.
 */
public final class PrometheusMeter implements Meter, AutoCloseable {

    /** Buckets for the time to answer a step: a cached or {@code {PLAIN}} login to a slow hash or database. */
    private static final double[] BUCKETS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    private final Counter requests;
    private final Histogram duration;
    private final CounterDataPoint penaltyDelayed;
    private final CounterDataPoint passdbErrors;
    private final CounterDataPoint cacheHits;
    private final CounterDataPoint cacheMisses;
    private final String passdb;
    /** The data points of each mechanism, by {@link Meter.Result} ordinal, made once. */
    private final Map<String, CounterDataPoint[]> byMechanism = new ConcurrentHashMap<>();
    private final Map<String, DistributionDataPoint> durations = new ConcurrentHashMap<>();
    private final HTTPServer server;

    private PrometheusMeter(PrometheusRegistry registry, String passdb, Supplier<Map<String, Integer>> connections,
            HTTPServer.Builder http) throws IOException {
        this.passdb = passdb;
        requests = Counter.builder().withoutExemplars().name("saslauth_auth_requests")
                .help("AUTH requests by mechanism and final reply (ok, fail, temp_fail)")
                .labelNames("mechanism", "result").register(registry);
        duration = Histogram.builder().withoutExemplars().name("saslauth_auth_duration_seconds").unit(Unit.SECONDS)
                .help("Time from a login's last client step to the server's decision, failure delay not included")
                .labelNames("mechanism", "passdb").classicOnly().classicUpperBounds(BUCKETS).register(registry);
        GaugeWithCallback.builder().name("saslauth_connections")
                .help("Client connections open now, by listener")
                .labelNames("listener")
                .callback(cb -> connections.get().forEach((listener, n) -> cb.call(n, listener)))
                .register(registry);
        penaltyDelayed = Counter.builder().withoutExemplars().name("saslauth_penalty_delayed")
                .help("FAIL replies held back beyond the failure delay by the penalty of their address")
                .register(registry);
        passdbErrors = Counter.builder().withoutExemplars().name("saslauth_passdb_errors")
                .help("Lookups the passdb (database, directory, checkpassword program) did not answer")
                .labelNames("passdb").register(registry).labelValues(passdb);
        Counter cache = Counter.builder().withoutExemplars().name("saslauth_cache_lookups")
                .help("Logins the cache answered (hit) or passed to the passdb (miss)")
                .labelNames("result").register(registry);
        cacheHits = cache.labelValues("hit");
        cacheMisses = cache.labelValues("miss");
        JvmMemoryMetrics.builder().register(registry);
        server = http.registry(registry).buildAndStart();
    }

    /**
     * Counts from now on and serves {@code /metrics} on {@code address}, to the scrapers that
     * {@code allowed} lets in (others get 403).
     *
     * @param passdb the passdb's kind, a label of the duration and the errors
     * @param connections the connections open now, by listener
     * @throws IOException when the address cannot be bound
     */
    public static PrometheusMeter start(InetSocketAddress address, Predicate<InetAddress> allowed, String passdb,
            Supplier<Map<String, Integer>> connections) throws IOException {
        // One thread: a scrape is small, and a second scraper waits its turn. Beyond 16 waiting,
        // execute throws (AbortPolicy), and the JDK's server closes that connection: a discarded
        // exchange would keep its socket open for good.
        ExecutorService executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(16),
                r -> {
                    Thread t = new Thread(r, "saslauth-metrics");
                    t.setDaemon(true);
                    return t;
                }, new ThreadPoolExecutor.AbortPolicy());
        HTTPServer.Builder http = HTTPServer.builder().inetAddress(address.getAddress()).port(address.getPort())
                .executorService(executor).authenticator(new AddressCheck(allowed));
        PrometheusMeter meter = new PrometheusMeter(new PrometheusRegistry(), passdb, connections, http);
        Meter.install(meter);
        return meter;
    }

    /** The port it listens on (the one given, or the one chosen for port 0). */
    public int port() {
        return server.getPort();
    }

    @Override
    public void replied(String mechanism, Result result) {
        byMechanism.computeIfAbsent(mechanism, m -> {
            CounterDataPoint[] points = new CounterDataPoint[Result.values().length];
            for (Result r : Result.values()) {
                points[r.ordinal()] = requests.labelValues(m, r.label);
            }
            return points;
        })[result.ordinal()].inc();
    }

    @Override
    public void answered(String mechanism, long nanos) {
        durations.computeIfAbsent(mechanism, m -> duration.labelValues(m, passdb)).observe(nanos / 1e9);
    }

    @Override
    public void penaltyDelayed() {
        penaltyDelayed.inc();
    }

    @Override
    public void passdbError() {
        passdbErrors.inc();
    }

    @Override
    public void cache(boolean hit) {
        (hit ? cacheHits : cacheMisses).inc();
    }

    /** Stops serving {@code /metrics}; counting stops too. */
    @Override
    public void close() {
        Meter.install(Meter.NONE);
        server.close();
    }

    /** Lets in the scrapers whose address {@code --allow-from} allows; 403 for others. */
    private static final class AddressCheck extends Authenticator {
        private final Predicate<InetAddress> allowed;

        AddressCheck(Predicate<InetAddress> allowed) {
            this.allowed = allowed;
        }

        @Override
        public Result authenticate(HttpExchange exchange) {
            InetSocketAddress remote = exchange.getRemoteAddress();
            if (remote != null && allowed.test(remote.getAddress())) {
                return new Success(new com.sun.net.httpserver.HttpPrincipal("scraper", "metrics"));
            }
            return new Failure(403);
        }
    }
}
