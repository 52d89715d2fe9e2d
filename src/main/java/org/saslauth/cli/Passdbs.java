package org.saslauth.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.saslauth.store.AppPasswordFile;
import org.saslauth.store.AppPasswordStore;
import org.saslauth.store.AppPasswords;
import org.saslauth.store.CachedStore;
import org.saslauth.store.CheckpasswordStore;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.InvalidStoreConfig;
import org.saslauth.store.LdapStore;
import org.saslauth.store.SqlStore;

/**
 * Opens the passdbs other than the passwd file, and the app passwords. Kept apart from
 * {@link Config.Store} so that a helper serving a passwd file never loads a class of the pool,
 * the JDBC drivers, LDAP or the app passwords.
 */
final class Passdbs {

    private Passdbs() {}

    static CredentialStore open(Passdb passdb, int poolSize, boolean failFast) throws InvalidStoreConfig {
        if (passdb instanceof Passdb.Sql sql) {
            return sql(sql, poolSize, failFast);
        }
        if (passdb instanceof Passdb.Ldap ldap) {
            return ldap(ldap, poolSize, failFast);
        }
        if (passdb instanceof Passdb.Checkpassword c) {
            return CheckpasswordStore.open(c.program());
        }
        if (passdb instanceof Passdb.Pam p) {
            return org.saslauth.store.PamStore.open(p.service(), failFast);
        }
        if (passdb instanceof Passdb.Shadow s) {
            return org.saslauth.store.ShadowStore.open(s.file(), s.minUid(), failFast);
        }
        throw new IllegalArgumentException(passdb.describe());
    }

    /**
     * The passdb of {@code store} with its app passwords in front ({@link Config.Store#open}):
     * from their file, or from the passdb's own database, whose pool the queries share.
     *
     * @param awaitFile whether a file that cannot be used makes logins temporary failures until
     *     it can (serving) rather than an error
     */
    static CredentialStore withAppPasswords(Config.Store store, int poolSize, boolean failFast, boolean awaitFile)
            throws StartupError {
        Config.AppPasswords a = store.appPasswords().orElseThrow();
        if (a.file().isPresent()) {
            AppPasswords file;
            if (awaitFile) {
                file = AppPasswordFile.open(a.file().get());
            } else {
                try {
                    file = AppPasswordFile.load(a.file().get());
                } catch (AppPasswordFile.Invalid e) {
                    throw new StartupError(e.getMessage());
                }
            }
            return new AppPasswordStore(store.openPassdb(poolSize, failFast, awaitFile), file, a.required());
        }
        SqlStore sql;
        AppPasswords rows;
        try {
            sql = (SqlStore) open(store.passdb(), poolSize, failFast);
            try {
                rows = sql.appPasswords(a.query().orElseThrow(), a.updateQuery());
            } catch (InvalidStoreConfig e) {
                sql.close();
                throw e;
            }
        } catch (InvalidStoreConfig e) {
            throw new StartupError(e.getMessage());
        }
        CredentialStore passdb = sql;
        if (store.cache().isPresent()) {
            Config.Cache c = store.cache().get();
            passdb = new CachedStore(sql, c.ttl(), c.negativeTtl(), c.size());
        }
        return new AppPasswordStore(passdb, rows, a.required());
    }

    private static CredentialStore sql(Passdb.Sql c, int poolSize, boolean failFast) throws InvalidStoreConfig {
        String password = c.passwordFile().isEmpty() ? null : secret(c.passwordFile().get(), "sql-password-file");
        return SqlStore.open(new SqlStore.Config(c.url(), c.user().orElse(null), password, c.query(),
                c.defaultScheme(), poolSize, failFast));
    }

    private static CredentialStore ldap(Passdb.Ldap c, int poolSize, boolean failFast) throws InvalidStoreConfig {
        byte[] password = c.bindPasswordFile().isEmpty() ? null
                : secret(c.bindPasswordFile().get(), "ldap-bind-password-file").getBytes(StandardCharsets.UTF_8);
        return LdapStore.open(new LdapStore.Config(c.urls(), c.startTls(), c.caFile().orElse(null),
                c.bindDn().orElse(null), password, c.base(), c.userFilter(), c.authBind(), c.passwordAttribute(),
                c.defaultScheme(), poolSize, failFast));
    }

    /** The first line of a file holding a password; the message on failure never holds it. */
    static String secret(Path file, String option) throws InvalidStoreConfig {
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
