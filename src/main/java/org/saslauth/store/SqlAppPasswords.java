package org.saslauth.store;

import static org.saslauth.Log.LOG;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.saslauth.Deadline;
import org.saslauth.Log;
import org.saslauth.password.PasswordHash;
import org.saslauth.protocol.Networks;

/**
 * App passwords in the passdb's SQL database ({@code app-password-query}), one row each:
 *
 * <pre>
 * SELECT name, password, networks, services, expires, revoked FROM app_passwords WHERE username = %u
 * </pre>
 *
 * Columns {@code name} and {@code password} ({@code {SCHEME}hash}, or the default scheme's data)
 * are required; {@code networks} (CIDR,...), {@code services} ({@code smtp,imap}), {@code expires},
 * {@code created} and {@code revoked} (timestamps, or ISO-8601 text) may be missing or NULL. A row
 * that cannot be read is logged and left out, so that its app password does not log in (a bad
 * {@code revoked} never makes one work again). The optional update query
 * ({@code app-password-update-query}) runs after each app password login with the user's
 * variables, {@code %{name}} and {@code %r}, to record its last use:
 *
 * <pre>
 * UPDATE app_passwords SET last_used = CURRENT_TIMESTAMP, last_ip = %r WHERE username = %u AND name = %{name}
 * </pre>
 *
 * Its failure is logged and changes nothing of the login.
 */
final class SqlAppPasswords implements AppPasswords {

    /** Rows read for one user at most. */
    static final int MAX_ROWS = 100;

    private final SqlStore db;
    private final NameTemplate query;
    private final String sql;
    private final Optional<NameTemplate> update;

    private SqlAppPasswords(SqlStore db, NameTemplate query, Optional<NameTemplate> update) {
        this.db = db;
        this.query = query;
        this.sql = query.join("?");
        this.update = update;
    }

    static SqlAppPasswords of(SqlStore db, String query, Optional<String> updateQuery) throws InvalidStoreConfig {
        NameTemplate q;
        try {
            q = NameTemplate.parse(query, true);
        } catch (IllegalArgumentException e) {
            throw new InvalidStoreConfig("app-password-query: " + e.getMessage());
        }
        Optional<NameTemplate> u = Optional.empty();
        if (updateQuery.isPresent()) {
            try {
                u = Optional.of(NameTemplate.parse(updateQuery.get(), true, true));
            } catch (IllegalArgumentException e) {
                throw new InvalidStoreConfig("app-password-update-query: " + e.getMessage());
            }
        }
        return new SqlAppPasswords(db, q, u);
    }

    @Override
    public Entries of(String user, Deadline deadline) {
        if (user.indexOf('\0') >= 0) {
            return new Entries.Found(List.of());
        }
        return db.bounded(() -> fetch(user), deadline).orElseGet(Entries.Unavailable::new);
    }

    private Entries fetch(String user) {
        try (Connection c = db.connection(); PreparedStatement st = c.prepareStatement(sql)) {
            st.setQueryTimeout((int) SqlStore.QUERY_TIMEOUT.toSeconds());
            st.setMaxRows(MAX_ROWS);
            for (int i = 0; i < query.variables().size(); i++) {
                st.setString(i + 1, NameTemplate.value(query.variables().get(i), user));
            }
            try (ResultSet rs = st.executeQuery()) {
                db.outage().answered();
                ResultSetMetaData md = rs.getMetaData();
                int name = SqlStore.column(md, "name");
                int password = SqlStore.column(md, "password");
                if (name < 0 || password < 0) {
                    LOG.error("app-password-query returns no column named {} (columns: {})",
                            name < 0 ? "name" : "password", SqlStore.columns(md));
                    return new Entries.Unavailable();
                }
                int networks = SqlStore.column(md, "networks");
                int services = SqlStore.column(md, "services");
                int expires = SqlStore.column(md, "expires");
                int created = SqlStore.column(md, "created");
                int revoked = SqlStore.column(md, "revoked");
                List<AppPassword> found = new ArrayList<>();
                while (rs.next()) {
                    String n = rs.getString(name);
                    try {
                        found.add(row(user, n, rs.getString(password), text(rs, networks), text(rs, services),
                                time(rs, expires, true), time(rs, created, false), time(rs, revoked, false)));
                    } catch (IllegalArgumentException e) {
                        LOG.error("app-password-query: app password {} of user {} cannot be used and is left out: {}",
                                Log.quote(n == null ? "" : n), Log.quote(user), e.getMessage());
                    }
                }
                return new Entries.Found(List.copyOf(found));
            }
        } catch (SQLException | RuntimeException e) {
            db.outage().failed(Outage.describe(e));
            return new Entries.Unavailable();
        }
    }

    private AppPassword row(String user, String name, String password, String networks, String services,
            Optional<Instant> expires, Optional<Instant> created, Optional<Instant> revoked) {
        if (name == null || !AppPassword.validName(name)) {
            throw new IllegalArgumentException("the name is not 1 to " + AppPassword.MAX_NAME
                    + " letters, digits, '.', '_', '-' or '@'");
        }
        if (password == null || password.isEmpty()) {
            throw new IllegalArgumentException("no password");
        }
        PasswordHash hash = StoredPassword.parse(password, user, db.defaultScheme());
        Optional<Networks> nets = Optional.empty();
        if (networks != null && !networks.isBlank()) {
            nets = Optional.of(Networks.parse(networks));
        }
        List<String> list = services == null || services.isBlank() ? List.of() : AppPasswordFile.services(services);
        return new AppPassword(user, name, hash, nets, list, expires, created, revoked);
    }

    private static String text(ResultSet rs, int column) throws SQLException {
        return column < 0 ? null : rs.getString(column);
    }

    /** A timestamp column, or ISO-8601 text; a time without a zone is the JVM's local time, as JDBC's. */
    private static Optional<Instant> time(ResultSet rs, int column, boolean dateAllowed) throws SQLException {
        if (column < 0) {
            return Optional.empty();
        }
        Object v = rs.getObject(column);
        if (v == null) {
            return Optional.empty();
        }
        if (v instanceof java.sql.Timestamp t) {
            return Optional.of(t.toInstant());
        }
        if (v instanceof OffsetDateTime o) {
            return Optional.of(o.toInstant());
        }
        if (v instanceof LocalDateTime l) {
            return Optional.of(l.atZone(ZoneId.systemDefault()).toInstant());
        }
        if (v instanceof java.sql.Date d) {
            return Optional.of(AppPasswordFile.time(d.toLocalDate().toString(), dateAllowed));
        }
        return Optional.of(AppPasswordFile.time(v.toString().strip(), dateAllowed));
    }

    @Override
    public void used(AppPassword password, String address, Deadline deadline) {
        if (update.isEmpty()) {
            return;
        }
        NameTemplate u = update.get();
        Optional<Integer> rows = db.bounded(() -> {
            try (Connection c = db.connection(); PreparedStatement st = c.prepareStatement(u.join("?"))) {
                st.setQueryTimeout((int) SqlStore.QUERY_TIMEOUT.toSeconds());
                for (int i = 0; i < u.variables().size(); i++) {
                    NameTemplate.Variable v = u.variables().get(i);
                    st.setString(i + 1, v == NameTemplate.Variable.RIP ? address
                            : v == NameTemplate.Variable.APP_NAME ? password.name()
                            : NameTemplate.value(v, password.user()));
                }
                return st.executeUpdate();
            } catch (SQLException | RuntimeException e) {
                LOG.warn("app-password-update-query failed (the login is not affected): {}", Outage.describe(e));
                return -1;
            }
        }, deadline);
        if (rows.isPresent() && rows.get() == 0) {
            LOG.debug("app-password-update-query changed no row for app password {} of user {}",
                    Log.quote(password.name()), Log.quote(password.user()));
        }
    }
}
