package org.saslauth;

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
 * {@link StoreOptions} so that a helper serving a passwd file never loads a class of the pool,
 * the JDBC drivers or LDAP.
 */
final class Passdbs {

    private Passdbs() {}

    static CredentialStore open(StoreOptions o, int poolSize, boolean failFast) throws InvalidStoreConfig {
        CredentialStore store = switch (o.passdb) {
            case "sql" -> sql(o, poolSize, failFast);
            case "ldap" -> ldap(o, poolSize, failFast);
            case "checkpassword" -> checkpassword(o);
            default -> throw new InvalidStoreConfig("--passdb must be passwd-file, sql, ldap or checkpassword, not '"
                    + o.passdb + "'");
        };
        if (o.cacheTtl.isZero()) {
            return store;
        }
        if (o.cacheSize < 1) {
            throw new InvalidStoreConfig("--cache-size must be at least 1");
        }
        return new CachedStore(store, o.cacheTtl, o.cacheNegativeTtl, o.cacheSize);
    }

    private static CredentialStore sql(StoreOptions o, int poolSize, boolean failFast) throws InvalidStoreConfig {
        require(o.sqlUrl, "sql-url", "sql");
        require(o.passwordQuery, "password-query", "sql");
        String password = o.sqlPasswordFile == null ? null : secret(o.sqlPasswordFile, "sql-password-file");
        return SqlStore.open(new SqlStore.Config(o.sqlUrl, o.sqlUser, password, o.passwordQuery,
                o.defaultPassScheme, poolSize, failFast));
    }

    private static CredentialStore ldap(StoreOptions o, int poolSize, boolean failFast) throws InvalidStoreConfig {
        require(o.ldapUrl, "ldap-url", "ldap");
        require(o.ldapBase, "ldap-base", "ldap");
        if (o.ldapBindPasswordFile != null && o.ldapBindDn == null) {
            throw new InvalidStoreConfig("ldap-bind-password-file is given without ldap-bind-dn");
        }
        byte[] password = o.ldapBindPasswordFile == null ? null
                : secret(o.ldapBindPasswordFile, "ldap-bind-password-file").getBytes(StandardCharsets.UTF_8);
        return LdapStore.open(new LdapStore.Config(o.ldapUrl, o.ldapStarttls, o.ldapCaFile, o.ldapBindDn, password,
                o.ldapBase, o.ldapUserFilter, o.ldapAuthBind, o.ldapPasswordAttribute, o.defaultPassScheme,
                poolSize, failFast));
    }

    private static CredentialStore checkpassword(StoreOptions o) throws InvalidStoreConfig {
        if (o.checkpasswordProgram == null) {
            throw new InvalidStoreConfig("--checkpassword-program is required for --passdb checkpassword");
        }
        return CheckpasswordStore.open(o.checkpasswordProgram);
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
            throw new InvalidStoreConfig(option + ": cannot read " + file + ": "
                    + (e instanceof java.nio.file.NoSuchFileException ? "no such file"
                    : e instanceof java.nio.file.AccessDeniedException ? "permission denied" : e.getClass().getSimpleName()));
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
