package org.saslauth;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.PasswdFile;
import org.saslauth.store.UserNameFormat;
import picocli.CommandLine.Option;

/** Where users come from and how their names are written; shared by serving and {@code test}. */
final class StoreOptions {

    enum Format { AS_IS, LOWERCASE }

    @Option(names = "--passwd-file", paramLabel = "FILE",
            description = "Users in Dovecot's passwd-file format (user:{SCHEME}password...).")
    Path passwdFile;

    @Option(names = "--passdb", paramLabel = "KIND",
            description = "Where users come from: passwd-file (default), sql, ldap or checkpassword.")
    String passdb = "passwd-file";

    @Option(names = "--sql-url", paramLabel = "URL",
            description = "passdb sql: jdbc:postgresql://HOST/DB or jdbc:mariadb://HOST/DB, without the password.")
    String sqlUrl;

    @Option(names = "--sql-user", paramLabel = "NAME", description = "passdb sql: the database user.")
    String sqlUser;

    @Option(names = "--sql-password-file", paramLabel = "FILE",
            description = "passdb sql: a file holding the database password (its first line).")
    Path sqlPasswordFile;

    @Option(names = "--password-query", paramLabel = "SQL",
            description = "passdb sql: the query, with %%u, %%n, %%d bound as parameters; columns password and (optional) user.")
    String passwordQuery;

    @Option(names = "--default-pass-scheme", paramLabel = "SCHEME",
            description = "passdb sql and ldap: the scheme of stored passwords without a {SCHEME} prefix (default: ${DEFAULT-VALUE}).")
    String defaultPassScheme = "SHA512-CRYPT";

    @Option(names = "--ldap-url", paramLabel = "URLS",
            description = "passdb ldap: one or more ldap:// or ldaps:// URLs, separated by spaces, tried in turn.")
    String ldapUrl;

    @Option(names = "--ldap-starttls", arity = "1", paramLabel = "true|false",
            description = "passdb ldap: StartTLS on ldap:// connections (default: ${DEFAULT-VALUE}).")
    boolean ldapStarttls;

    @Option(names = "--ldap-ca-file", paramLabel = "FILE",
            description = "passdb ldap: PEM certificates to trust for ldaps:// and StartTLS, instead of Java's.")
    Path ldapCaFile;

    @Option(names = "--ldap-bind-dn", paramLabel = "DN", description = "passdb ldap: the DN to search as (default: anonymous).")
    String ldapBindDn;

    @Option(names = "--ldap-bind-password-file", paramLabel = "FILE",
            description = "passdb ldap: a file holding the bind DN's password (its first line).")
    Path ldapBindPasswordFile;

    @Option(names = "--ldap-base", paramLabel = "DN", description = "passdb ldap: where to search for users.")
    String ldapBase;

    @Option(names = "--ldap-user-filter", paramLabel = "FILTER",
            description = "passdb ldap: the search filter, %%u, %%n, %%d escaped as RFC 4515 requires (default: ${DEFAULT-VALUE}).")
    String ldapUserFilter = "(&(objectClass=inetOrgPerson)(mail=%u))";

    @Option(names = "--ldap-auth-bind", arity = "1", paramLabel = "true|false",
            description = "passdb ldap: check the password by binding as the user's DN (default: ${DEFAULT-VALUE}).")
    boolean ldapAuthBind;

    @Option(names = "--ldap-password-attribute", paramLabel = "NAME",
            description = "passdb ldap without auth bind: the attribute holding the password (default: ${DEFAULT-VALUE}).")
    String ldapPasswordAttribute = "userPassword";

    @Option(names = "--checkpassword-program", paramLabel = "PATH",
            description = "passdb checkpassword: the program, run per login with user NUL password NUL on descriptor 3.")
    Path checkpasswordProgram;

    @Option(names = "--cache-ttl", paramLabel = "DURATION", converter = Durations.class,
            description = "sql, ldap, checkpassword: keep a successful login this long, 0 for no cache (default: 0).")
    Duration cacheTtl = Duration.ZERO;

    @Option(names = "--cache-negative-ttl", paramLabel = "DURATION", converter = Durations.class,
            description = "With the cache: keep an unknown user this long (default: 0).")
    Duration cacheNegativeTtl = Duration.ZERO;

    @Option(names = "--cache-size", paramLabel = "N",
            description = "With the cache: users kept at most (default: ${DEFAULT-VALUE}).")
    int cacheSize = 10000;

    @Option(names = "--username-format", paramLabel = "FORMAT",
            converter = FormatConverter.class,
            description = "as-is or lowercase, like Dovecot's auth_username_format %%u / %%Lu (default: as-is).")
    Format usernameFormat = Format.AS_IS;

    @Option(names = "--default-realm", paramLabel = "DOMAIN",
            description = "Appended as @DOMAIN to user names without '@', like auth_default_realm.")
    String defaultRealm;

    UserNameFormat format() {
        return new UserNameFormat(usernameFormat == Format.LOWERCASE, Optional.ofNullable(defaultRealm));
    }

    /** Whether a passdb is configured (a passwd file, or another kind). */
    boolean configured() {
        return passwdFile != null || !passdb.equals("passwd-file");
    }

    /** The store of a spawned helper or of {@code saslauth test}: one connection, checked at start. */
    CredentialStore open() throws Saslauth.StartupError {
        return open(1, true);
    }

    /**
     * @param poolSize connections a database or directory store keeps
     * @param failFast whether a server that cannot be reached at start is an error; a daemon
     *     retries instead
     */
    CredentialStore open(int poolSize, boolean failFast) throws Saslauth.StartupError {
        if (passdb.equals("passwd-file")) {
            if (passwdFile == null) {
                throw new Saslauth.StartupError("--passwd-file is required");
            }
            try {
                return PasswdFile.load(passwdFile);
            } catch (PasswdFile.Invalid e) {
                throw new Saslauth.StartupError(e.getMessage());
            }
        }
        try {
            return Passdbs.open(this, poolSize, failFast);
        } catch (org.saslauth.store.InvalidStoreConfig e) {
            throw new Saslauth.StartupError(e.getMessage());
        }
    }

    static final class FormatConverter implements picocli.CommandLine.ITypeConverter<Format> {
        @Override
        public Format convert(String value) {
            return switch (value.strip().toLowerCase(java.util.Locale.ROOT)) {
                case "as-is", "%u" -> Format.AS_IS;
                case "lowercase", "%lu" -> Format.LOWERCASE;
                default -> throw new picocli.CommandLine.TypeConversionException(
                        "'" + value + "' is not as-is or lowercase");
            };
        }
    }
}
