package org.saslauth.store;

import static org.saslauth.Log.LOG;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import org.saslauth.Deadline;
import org.saslauth.password.CostlyChecks;
import org.saslauth.password.PasswordHash;
import org.saslauth.password.ScramHash;
import org.saslauth.password.ScramShape;
import org.saslauth.Log;

/**
 * Users in an SQL database, like Dovecot's {@code passdb sql}: one query per login, written as
 * in Dovecot ({@code SELECT password FROM mailbox WHERE username = %u AND active = 1}), its
 * {@code %u}, {@code %n} and {@code %d} bound as parameters of a prepared statement. The
 * {@code password} column holds {@code {SCHEME}data}, or data in the default scheme; an optional
 * {@code user} column is the canonical name for the OK. No row is an unknown user; more than one
 * row is a configuration error, never the first row's password.
 *
 * <p>Connections come from a HikariCP pool: one connection in a spawned helper, more in a
 * daemon. Every step is bounded so that an answer comes within {@link #ANSWER_WITHIN}: taking a
 * connection (which opens one when needed) {@link #CONNECTION_TIMEOUT}, the query
 * {@link #QUERY_TIMEOUT}. A database down, slow or refusing makes a lookup
 * {@link Verdict#UNAVAILABLE}; the pool opens fresh connections once it is back.
 */
public final class SqlStore implements CredentialStore {

    public static final Duration ANSWER_WITHIN = Duration.ofSeconds(5);
    static final Duration CONNECTION_TIMEOUT = Duration.ofMillis(1500);
    static final Duration QUERY_TIMEOUT = Duration.ofSeconds(3);
    /**
     * How long a login waits for the lookup, whatever the driver does, when its deadline leaves
     * more.
     */
    static final Duration LOOKUP_LIMIT = Duration.ofMillis(4500);

    /**
     * @param url a JDBC URL, {@code jdbc:postgresql:} or {@code jdbc:mariadb:}
     * @param user the database user, or null to leave it to the URL
     * @param password the database password, or null for none; never logged
     * @param passwordQuery the query, with Dovecot's variables
     * @param defaultScheme the scheme of stored passwords without a {@code {SCHEME}} prefix
     * @param poolSize connections kept: 1 in a spawned helper
     * @param failFast whether a database that cannot be reached at start is an error (spawned
     *     helpers, {@code saslauth test}) or is retried (a daemon)
     */
    public record Config(String url, String user, String password, String passwordQuery,
            String defaultScheme, int poolSize, boolean failFast) {
        @Override
        public String toString() { // never the password
            return "SqlStore.Config[url=" + url + ", user=" + user + ", poolSize=" + poolSize + "]";
        }
    }

    private final HikariDataSource pool;
    private final NameTemplate query;
    private final String sql;
    private final String defaultScheme;
    private final Outage outage = new Outage("SQL database");
    private final Bounded lookups;
    private final ScramTally scramTally;
    /** Whether the pool ever gave a connection: until then, taking one may wait twice as long. */
    private volatile boolean connectedOnce;

    private SqlStore(HikariDataSource pool, NameTemplate query, String defaultScheme, int poolSize,
            ScramTally scramTally) {
        this.pool = pool;
        this.scramTally = scramTally;
        this.lookups = new Bounded("saslauth-sql", poolSize + 2, LOOKUP_LIMIT);
        this.query = query;
        this.sql = query.join("?");
        this.defaultScheme = defaultScheme;
    }

    public static SqlStore open(Config c) throws InvalidStoreConfig {
        return open(c, ScramTally.PROCESS);
    }

    /** {@link #open(Config)}, counting SCRAM entries in {@code scramTally} rather than the process's. */
    static SqlStore open(Config c, ScramTally scramTally) throws InvalidStoreConfig {
        NameTemplate query;
        try {
            query = NameTemplate.parse(c.passwordQuery(), true);
        } catch (IllegalArgumentException e) {
            throw new InvalidStoreConfig("password-query: " + e.getMessage());
        }
        StoredPassword.checkScheme(c.defaultScheme());
        String driver = driverFor(c.url());
        if (c.url().toLowerCase(Locale.ROOT).contains("password=")) {
            throw new InvalidStoreConfig("sql-url must not hold the password (it would show in ps and in the"
                    + " config file): put it in the file named by sql-password-file");
        }
        org.saslauth.Log.ready(); // before HikariCP's logger
        quietDriverLogs();
        HikariConfig hc = new HikariConfig();
        hc.setPoolName("saslauth-sql");
        hc.setDriverClassName(driver);
        hc.setJdbcUrl(c.url());
        if (c.user() != null) {
            hc.setUsername(c.user());
        }
        if (c.password() != null) {
            hc.setPassword(c.password());
        }
        hc.setMaximumPoolSize(Math.max(1, c.poolSize()));
        hc.setMinimumIdle(Math.max(1, c.poolSize()));
        hc.setConnectionTimeout(CONNECTION_TIMEOUT.toMillis());
        hc.setValidationTimeout(Math.min(1000, CONNECTION_TIMEOUT.toMillis() - 250));
        hc.setInitializationFailTimeout(c.failFast() ? CONNECTION_TIMEOUT.toMillis() : -1);
        // Drivers' own bounds, as defaults under what the URL says.
        if (driver.startsWith("org.postgresql")) {
            hc.addDataSourceProperty("connectTimeout", "2");
            hc.addDataSourceProperty("loginTimeout", "3"); // a cold JVM's first login: see connection()
            hc.addDataSourceProperty("socketTimeout", "4");
            hc.addDataSourceProperty("ApplicationName", "saslauth");
        } else {
            hc.addDataSourceProperty("connectTimeout", "2000");
            hc.addDataSourceProperty("socketTimeout", "4000");
        }
        HikariDataSource ds;
        try {
            ds = new HikariDataSource(hc);
        } catch (RuntimeException e) { // HikariPool.PoolInitializationException and config errors
            throw new InvalidStoreConfig("cannot connect to the SQL database: " + Outage.describe(e));
        }
        return new SqlStore(ds, query, c.defaultScheme(), Math.max(1, c.poolSize()), scramTally);
    }

    private static String driverFor(String url) throws InvalidStoreConfig {
        if (url.startsWith("jdbc:postgresql:")) {
            return "org.postgresql.Driver";
        }
        if (url.startsWith("jdbc:mariadb:")) {
            return "org.mariadb.jdbc.Driver";
        }
        throw new InvalidStoreConfig("sql-url: no driver for '" + url.split("[:/]", 3)[0]
                + "...'; saslauth carries PostgreSQL (jdbc:postgresql://HOST/DB) and MariaDB/MySQL"
                + " (jdbc:mariadb://HOST/DB)");
    }

    /**
     * The pool and the drivers would log each failed connection, with stack traces; this store
     * logs one line per outage instead. Set before their loggers exist.
     */
    private static void quietDriverLogs() {
        System.setProperty("org.slf4j.simpleLogger.log.com.zaxxer.hikari", "off");
        System.setProperty("org.slf4j.simpleLogger.log.org.mariadb.jdbc", "off");
        JulLoggers.off("org.postgresql");
    }

    /** A row read for a user, or why there is none. */
    private sealed interface Row {
        record Found(String password, String user) implements Row {}

        record None() implements Row {}

        record Failed() implements Row {}
    }

    private Row fetch(String user, Deadline deadline) {
        if (user.indexOf('\0') >= 0) {
            return new Row.None(); // no database stores one; PostgreSQL would refuse the query
        }
        if (deadline.passed()) {
            return new Row.Failed(); // too late before the database was asked: not its outage
        }
        return lookups.call(() -> fetchNow(user), deadline).orElseGet(() -> {
            outage.failed("no answer in time");
            return new Row.Failed();
        });
    }

    private Row fetchNow(String user) {
        try (Connection c = connection(); PreparedStatement st = c.prepareStatement(sql)) {
            st.setQueryTimeout((int) QUERY_TIMEOUT.toSeconds());
            st.setMaxRows(2);
            for (int i = 0; i < query.variables().size(); i++) {
                st.setString(i + 1, NameTemplate.value(query.variables().get(i), user));
            }
            try (ResultSet rs = st.executeQuery()) {
                outage.answered();
                ResultSetMetaData md = rs.getMetaData();
                int passwordColumn = column(md, "password");
                int userColumn = column(md, "user");
                if (passwordColumn < 0) {
                    LOG.error("password-query returns no column named password (columns: {})", columns(md));
                    return new Row.Failed();
                }
                if (!rs.next()) {
                    return new Row.None();
                }
                String password = rs.getString(passwordColumn);
                String canonical = userColumn < 0 ? null : rs.getString(userColumn);
                if (rs.next()) {
                    LOG.error("password-query returned more than one row for user {}: a configuration error,"
                            + " the login fails", Log.quote(user));
                    return new Row.Failed();
                }
                return new Row.Found(password, canonical == null || canonical.isEmpty() ? user : canonical);
            }
        } catch (SQLException | RuntimeException e) {
            outage.failed(Outage.describe(e));
            return new Row.Failed();
        }
    }

    /**
     * A connection from the pool. The pool's first one is opened while a helper starts, in a
     * cold JVM (the driver's classes, the server's SCRAM login), which on a loaded host takes
     * longer than {@link #CONNECTION_TIMEOUT}: until a connection was had once, a login waits a
     * second time, still within {@link #LOOKUP_LIMIT}, rather than answering the first logins of
     * every new helper with a temporary failure.
     */
    Connection connection() throws SQLException {
        Connection c;
        try {
            c = pool.getConnection();
        } catch (java.sql.SQLTransientConnectionException e) {
            if (connectedOnce) {
                throw e;
            }
            c = pool.getConnection();
        }
        connectedOnce = true;
        return c;
    }

    static int column(ResultSetMetaData md, String name) throws SQLException {
        for (int i = 1; i <= md.getColumnCount(); i++) {
            if (md.getColumnLabel(i).equalsIgnoreCase(name)) {
                return i;
            }
        }
        return -1;
    }

    static String columns(ResultSetMetaData md) throws SQLException {
        StringBuilder out = new StringBuilder();
        for (int i = 1; i <= md.getColumnCount(); i++) {
            out.append(i > 1 ? ", " : "").append(md.getColumnLabel(i));
        }
        return out.toString();
    }

    /**
     * The stored password, or empty (logged) when the row holds none that can be read; a SCRAM
     * entry is counted in the {@link ScramTally}.
     */
    private Optional<PasswordHash> parse(String stored, String user) {
        Optional<PasswordHash> hash = StoredPassword.read(stored, user, defaultScheme, "password", "database");
        scramTally.saw(user, hash);
        return hash;
    }

    @Override
    public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
        return check(user, password, slots, deadline).verdict();
    }

    @Override
    public Checked check(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
        Row row = fetch(user, deadline);
        if (row instanceof Row.Found f) {
            Optional<PasswordHash> hash = parse(f.password(), user);
            if (hash.isEmpty()) {
                return new Checked(f.password() == null || f.password().isEmpty()
                        ? Verdict.WRONG_PASSWORD : Verdict.UNAVAILABLE, user);
            }
            return switch (slots.check(hash.get(), password, deadline)) {
                case MATCHED -> new Checked(Verdict.ACCEPTED, f.user());
                case NOT_MATCHED -> new Checked(Verdict.WRONG_PASSWORD, user);
                case TOO_BUSY -> new Checked(Verdict.OVERLOADED, user);
            };
        }
        if (row instanceof Row.None) {
            scramTally.saw(user, Optional.empty());
            return new Checked(Verdict.UNKNOWN_USER, user);
        }
        return new Checked(Verdict.UNAVAILABLE, user);
    }

    @Override
    public Lookup lookup(String user, Deadline deadline) {
        Row row = fetch(user, deadline);
        if (row instanceof Row.Found f) {
            return parse(f.password(), user).<Lookup>map(Lookup.Found::new).orElseGet(Lookup.Unavailable::new);
        }
        if (row instanceof Row.None) {
            scramTally.saw(user, Optional.empty());
            return new Lookup.UnknownUser();
        }
        return new Lookup.Unavailable();
    }

    /**
     * The most common SCRAM entry among those read so far ({@link ScramTally}, the process's):
     * a database cannot be listed.
     */
    @Override
    public ScramShape scramShape(ScramHash hash) {
        return scramTally.mostCommon(hash);
    }

    /**
     * The app passwords of this database: {@code query} returns a user's rows, and
     * {@code updateQuery}, when given, records each app password login; both run on this
     * store's pool, bounded as its lookups are.
     *
     * @throws InvalidStoreConfig for a query with an unknown variable
     */
    public AppPasswords appPasswords(String query, Optional<String> updateQuery) throws InvalidStoreConfig {
        return SqlAppPasswords.of(this, query, updateQuery);
    }

    /** {@code task} on a lookup worker, answered by {@code deadline}; empty (an outage logged) when not. */
    <T> Optional<T> bounded(java.util.concurrent.Callable<T> task, Deadline deadline) {
        if (deadline.passed()) {
            return Optional.empty();
        }
        Optional<T> answer = lookups.call(task, deadline);
        if (answer.isEmpty()) {
            outage.failed("no answer in time");
        }
        return answer;
    }

    Outage outage() {
        return outage;
    }

    String defaultScheme() {
        return defaultScheme;
    }

    /** Closes the pool's connections and stops the lookup workers. */
    @Override
    public void close() {
        lookups.shutdown();
        pool.close();
    }
}
