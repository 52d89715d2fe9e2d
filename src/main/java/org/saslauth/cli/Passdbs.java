package org.saslauth.cli;

import static org.saslauth.cli.ServingOption.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.saslauth.store.CachedStore;
import org.saslauth.store.CheckpasswordStore;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.InvalidStoreConfig;
import org.saslauth.store.LdapStore;
import org.saslauth.store.SqlStore;

/**
 * Builds the passdbs other than the passwd file from their options. Kept apart from
 * {@link Stores} so that a helper serving a passwd file never loads a class of the pool,
 * the JDBC drivers or LDAP.
 */
final class Passdbs {

    private Passdbs() {}

    static CredentialStore open(Options o, int poolSize, boolean failFast) throws InvalidStoreConfig {
        String passdb = o.string(PASSDB);
        CredentialStore store = switch (passdb) {
            case "sql" -> sql(o, poolSize, failFast);
            case "ldap" -> ldap(o, poolSize, failFast);
            case "checkpassword" -> checkpassword(o);
            default -> throw new InvalidStoreConfig("--passdb must be passwd-file, sql, ldap or checkpassword, not '"
                    + passdb + "'");
        };
        if (o.duration(CACHE_TTL).isZero()) {
            return store;
        }
        if (o.count(CACHE_SIZE) < 1) {
            throw new InvalidStoreConfig("--cache-size must be at least 1");
        }
        return new CachedStore(store, o.duration(CACHE_TTL), o.duration(CACHE_NEGATIVE_TTL), o.count(CACHE_SIZE));
    }

    private static CredentialStore sql(Options o, int poolSize, boolean failFast) throws InvalidStoreConfig {
        require(o.string(SQL_URL), "sql-url", "sql");
        require(o.string(PASSWORD_QUERY), "password-query", "sql");
        Path passwordFile = o.path(SQL_PASSWORD_FILE);
        String password = passwordFile == null ? null : secret(passwordFile, "sql-password-file");
        return SqlStore.open(new SqlStore.Config(o.string(SQL_URL), o.string(SQL_USER), password,
                o.string(PASSWORD_QUERY), o.string(DEFAULT_PASS_SCHEME), poolSize, failFast));
    }

    private static CredentialStore ldap(Options o, int poolSize, boolean failFast) throws InvalidStoreConfig {
        require(o.string(LDAP_URL), "ldap-url", "ldap");
        require(o.string(LDAP_BASE), "ldap-base", "ldap");
        Path passwordFile = o.path(LDAP_BIND_PASSWORD_FILE);
        if (passwordFile != null && o.string(LDAP_BIND_DN) == null) {
            throw new InvalidStoreConfig("ldap-bind-password-file is given without ldap-bind-dn");
        }
        byte[] password = passwordFile == null ? null
                : secret(passwordFile, "ldap-bind-password-file").getBytes(StandardCharsets.UTF_8);
        return LdapStore.open(new LdapStore.Config(o.string(LDAP_URL), o.bool(LDAP_STARTTLS), o.path(LDAP_CA_FILE),
                o.string(LDAP_BIND_DN), password, o.string(LDAP_BASE), o.string(LDAP_USER_FILTER),
                o.bool(LDAP_AUTH_BIND), o.string(LDAP_PASSWORD_ATTRIBUTE), o.string(DEFAULT_PASS_SCHEME),
                poolSize, failFast));
    }

    private static CredentialStore checkpassword(Options o) throws InvalidStoreConfig {
        if (o.path(CHECKPASSWORD_PROGRAM) == null) {
            throw new InvalidStoreConfig("--checkpassword-program is required for --passdb checkpassword");
        }
        return CheckpasswordStore.open(o.path(CHECKPASSWORD_PROGRAM));
    }

    private static void require(String value, String option, String passdb) throws InvalidStoreConfig {
        if (value == null || value.isBlank()) {
            throw new InvalidStoreConfig("--" + option + " is required for --passdb " + passdb);
        }
    }

    /** The first line of a file holding a password; the message on failure never holds it. */
    private static String secret(Path file, String option) throws InvalidStoreConfig {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new InvalidStoreConfig(option + ": cannot read " + file + ": " + org.saslauth.Text.describe(e));
        }
        try {
            int end = 0;
            while (end < bytes.length && bytes[end] != '\n' && bytes[end] != '\r') {
                end++;
            }
            if (end == 0) {
                throw new InvalidStoreConfig(option + ": " + file + " is empty");
            }
            return new String(bytes, 0, end, StandardCharsets.UTF_8);
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }
}
