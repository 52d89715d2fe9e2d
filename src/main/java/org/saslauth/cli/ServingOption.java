package org.saslauth.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.saslauth.daemon.AllowFrom;
import org.saslauth.daemon.ListenAddress;
import org.saslauth.daemon.SocketFile;

/**
 * Every option of the serving commands, one entry each: its name (also its key in a config
 * file), value label, type, default, help text, and which commands take it. The start-up fast
 * path ({@link ServingArgs}), picocli's model ({@link OptionTable}: help, errors, the manual),
 * the config file ({@link ConfigFile}) and the tests all read this table, so a new option is
 * one entry here.
 *
 * <p>The options of {@code saslauth daemon} alone ({@link Applies#DAEMON}) are values of daemon
 * classes; only the daemon converts them, so that a helper never loads those classes.
 */
enum ServingOption {

    PASSWD_FILE("passwd-file", "FILE", Type.PATH, null, Applies.STORE,
            "Users in Dovecot's passwd-file format (user:{SCHEME}password...)."),
    PASSDB("passdb", "KIND", Type.STRING, "passwd-file", Applies.STORE,
            "Where users come from: passwd-file (default), sql, ldap, checkpassword, or the host's accounts:"
                    + " shadow (/etc/shadow) or pam (Linux-PAM)."),
    SQL_URL("sql-url", "URL", Type.STRING, null, Applies.STORE,
            "passdb sql: jdbc:postgresql://HOST/DB or jdbc:mariadb://HOST/DB, without the password."),
    SQL_USER("sql-user", "NAME", Type.STRING, null, Applies.STORE, "passdb sql: the database user."),
    SQL_PASSWORD_FILE("sql-password-file", "FILE", Type.PATH, null, Applies.STORE,
            "passdb sql: a file holding the database password (its first line)."),
    PASSWORD_QUERY("password-query", "SQL", Type.STRING, null, Applies.STORE,
            "passdb sql: the query, with %%u, %%n, %%d bound as parameters; columns password and (optional) user."),
    DEFAULT_PASS_SCHEME("default-pass-scheme", "SCHEME", Type.STRING, "SHA512-CRYPT", Applies.STORE,
            "passdb sql and ldap: the scheme of stored passwords without a {SCHEME} prefix (default: ${DEFAULT-VALUE})."),
    LDAP_URL("ldap-url", "URLS", Type.STRING, null, Applies.STORE,
            "passdb ldap: one or more ldap:// or ldaps:// URLs, separated by spaces, tried in turn."),
    LDAP_STARTTLS("ldap-starttls", "true|false", Type.BOOLEAN, "false", Applies.STORE,
            "passdb ldap: StartTLS on ldap:// connections (default: ${DEFAULT-VALUE})."),
    LDAP_CA_FILE("ldap-ca-file", "FILE", Type.PATH, null, Applies.STORE,
            "passdb ldap: PEM certificates to trust for ldaps:// and StartTLS, instead of Java's."),
    LDAP_BIND_DN("ldap-bind-dn", "DN", Type.STRING, null, Applies.STORE,
            "passdb ldap: the DN to search as (default: anonymous)."),
    LDAP_BIND_PASSWORD_FILE("ldap-bind-password-file", "FILE", Type.PATH, null, Applies.STORE,
            "passdb ldap: a file holding the bind DN's password (its first line)."),
    LDAP_BASE("ldap-base", "DN", Type.STRING, null, Applies.STORE, "passdb ldap: where to search for users."),
    LDAP_USER_FILTER("ldap-user-filter", "FILTER", Type.STRING, "(&(objectClass=inetOrgPerson)(mail=%u))", Applies.STORE,
            "passdb ldap: the search filter, %%u, %%n, %%d escaped as RFC 4515 requires (default: ${DEFAULT-VALUE})."),
    LDAP_AUTH_BIND("ldap-auth-bind", "true|false", Type.BOOLEAN, "false", Applies.STORE,
            "passdb ldap: check the password by binding as the user's DN (default: ${DEFAULT-VALUE})."),
    LDAP_PASSWORD_ATTRIBUTE("ldap-password-attribute", "NAME", Type.STRING, "userPassword", Applies.STORE,
            "passdb ldap without auth bind: the attribute holding the password (default: ${DEFAULT-VALUE})."),
    CHECKPASSWORD_PROGRAM("checkpassword-program", "PATH", Type.PATH, null, Applies.STORE,
            "passdb checkpassword: the program, run per login with user NUL password NUL on descriptor 3."),
    SHADOW_FILE("shadow-file", "FILE", Type.PATH, "/etc/shadow", Applies.STORE,
            "passdb shadow: the shadow file, with the passwd file beside it for the uids; reading it needs"
                    + " the group shadow (default: ${DEFAULT-VALUE})."),
    SHADOW_MIN_UID("shadow-min-uid", "UID", Type.COUNT, "1000", Applies.STORE,
            "passdb shadow: accounts with a lower uid (root, system accounts) never log in (default: ${DEFAULT-VALUE})."),
    PAM_SERVICE("pam-service", "NAME", Type.STRING, "saslauth", Applies.STORE,
            "passdb pam: the PAM service, a file of /etc/pam.d (default: ${DEFAULT-VALUE}, which the package"
                    + " installs)."),
    CACHE_TTL("cache-ttl", "DURATION", Type.DURATION, "0", Applies.STORE,
            "sql, ldap, checkpassword: keep a successful login this long, 0 for no cache (default: 0)."),
    CACHE_NEGATIVE_TTL("cache-negative-ttl", "DURATION", Type.DURATION, "0", Applies.STORE,
            "With the cache: keep an unknown user this long (default: 0)."),
    CACHE_SIZE("cache-size", "N", Type.COUNT, "10000", Applies.STORE,
            "With the cache: users kept at most (default: ${DEFAULT-VALUE})."),
    APP_PASSWORDS_FILE("app-passwords-file", "FILE", Type.PATH, null, Applies.STORE,
            "App passwords, one a line (user:name:{SCHEME}hash:fields), checked before the passdb; see"
                    + " saslauth app-password. A file that does not exist holds none."),
    APP_PASSWORD_QUERY("app-password-query", "SQL", Type.STRING, null, Applies.STORE,
            "passdb sql: app passwords from the database instead, checked before the passdb: the user's rows,"
                    + " %%u, %%n, %%d bound; columns name and password, optional networks, services, expires, revoked."),
    APP_PASSWORD_UPDATE_QUERY("app-password-update-query", "SQL", Type.STRING, null, Applies.STORE,
            "With app-password-query: run after each app password login to record its last use, with %%u, %%n, %%d,"
                    + " %%{name} (the app password's), %%r (the client's address) bound."),
    APP_PASSWORDS_REQUIRED("app-passwords-required", "true|false", Type.BOOLEAN, "false", Applies.STORE,
            "Refuse a user's main password once the user has a live app password (default: ${DEFAULT-VALUE})."),
    USERNAME_FORMAT("username-format", "FORMAT", Type.NAME_FORMAT, "as-is", Applies.STORE,
            "as-is or lowercase, like Dovecot's auth_username_format %%u / %%Lu (default: as-is)."),
    DEFAULT_REALM("default-realm", "DOMAIN", Type.STRING, null, Applies.STORE,
            "Appended as @DOMAIN to user names without '@', like auth_default_realm."),
    MECHANISMS("mechanisms", "LIST", Type.STRING, "PLAIN,LOGIN", Applies.SERVING,
            "Comma-separated mechanisms to offer: PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256, OREORE (default: ${DEFAULT-VALUE})."),
    FAILURE_DELAY("failure-delay", "DURATION", Type.DURATION, "2s", Applies.SERVING,
            "Delay before a FAIL reply, like Dovecot's auth_failure_delay; 0 for none, at most 5s (default: 2s)."),
    MAX_PENDING("max-pending", "N", Type.COUNT, "32", Applies.SERVING,
            "Unfinished exchanges kept per connection; the oldest is dropped beyond that (default: ${DEFAULT-VALUE})."),
    MAX_AUTH_RATE("max-auth-rate", "N", Type.COUNT, "100", Applies.SERVING,
            "AUTH requests a second allowed on one connection, 0 for no limit; beyond it they get FAIL (default: ${DEFAULT-VALUE})."),
    AUTH_PENALTY("auth-penalty", "true|false", Type.BOOLEAN, "true", Applies.SERVING,
            "Grow the failure delay for repeated failures from one client address, up to 5s in all (default: ${DEFAULT-VALUE})."),
    IPV6_PREFIX("ipv6-prefix", "BITS", Type.COUNT, "64", Applies.SERVING,
            "Count the IPv6 addresses of one /BITS prefix as one client for the penalty and --max-auth-rate, 1-128 (default: ${DEFAULT-VALUE})."),
    PENALTY_STORE("penalty-store", "URL", Type.STRING, "memory", Applies.SERVING,
            "Where bans, protected users and known networks are counted: memory (each process its own) or"
                    + " redis://HOST[:PORT][/DB] (rediss:// for TLS), shared by every helper, daemon and host using it"
                    + " (default: ${DEFAULT-VALUE})."),
    PENALTY_STORE_PASSWORD_FILE("penalty-store-password-file", "FILE", Type.PATH, null, Applies.SERVING,
            "With a redis:// store: a file holding its password (its first line)."),
    PENALTY_WINDOW("penalty-window", "TIME", Type.PERIOD, "15m", Applies.SERVING,
            "How long the failures of one client address are counted together (default: ${DEFAULT-VALUE})."),
    PENALTY_BAN_USERS("penalty-ban-users", "N", Type.COUNT, "10", Applies.SERVING,
            "Ban an address that failed on N distinct users within the window (default: ${DEFAULT-VALUE})."),
    PENALTY_BAN_PASSWORDS("penalty-ban-passwords", "N", Type.COUNT, "20", Applies.SERVING,
            "Ban an address that tried N distinct wrong passwords within the window; one password retried"
                    + " counts once (default: ${DEFAULT-VALUE})."),
    PENALTY_BAN_TIME("penalty-ban-time", "TIME", Type.PERIOD, "15m", Applies.SERVING,
            "The first ban of an address; each new ban within --penalty-ban-max doubles it (default: ${DEFAULT-VALUE})."),
    PENALTY_BAN_MAX("penalty-ban-max", "TIME", Type.PERIOD, "24h", Applies.SERVING,
            "The longest ban, and how long a ban is remembered for the next one to grow (default: ${DEFAULT-VALUE})."),
    PENALTY_PREFIX_BANS("penalty-prefix-bans", "N", Type.COUNT, "4", Applies.SERVING,
            "With N banned addresses in one IPv4 /24, every failure from the /24 waits 5s (default: ${DEFAULT-VALUE})."),
    PENALTY_USER_WINDOW("penalty-user-window", "TIME", Type.PERIOD, "1h", Applies.SERVING,
            "How long the addresses a user failed from are counted together (default: ${DEFAULT-VALUE})."),
    PENALTY_PROTECT_ADDRESSES("penalty-protect-addresses", "N", Type.COUNT, "20", Applies.SERVING,
            "Protect a user that failed from N distinct addresses within the user window: its logins from networks"
                    + " where it never logged in are refused unchecked (default: ${DEFAULT-VALUE})."),
    PENALTY_PROTECT_PASSWORDS("penalty-protect-passwords", "N", Type.COUNT, "30", Applies.SERVING,
            "Protect a user on whom N distinct wrong passwords were tried within the user window, from any"
                    + " addresses (default: ${DEFAULT-VALUE})."),
    PENALTY_PROTECT_TIME("penalty-protect-time", "TIME", Type.PERIOD, "1h", Applies.SERVING,
            "How long a protection lasts after its last failure (default: ${DEFAULT-VALUE})."),
    PENALTY_KNOWN_FOR("penalty-known-for", "TIME", Type.PERIOD, "30d", Applies.SERVING,
            "How long a successful login makes its /24 (IPv4) or --ipv6-prefix known for the user"
                    + " (default: ${DEFAULT-VALUE})."),
    PENALTY_EXEMPT("penalty-exempt", "CIDR,...", Type.STRING, null, Applies.SERVING,
            "Client addresses never banned nor refused by a protection (webmail, monitoring)."),
    OAUTH2_ISSUER("oauth2-issuer", "URL", Type.STRING, null, Applies.SERVING,
            "OAUTHBEARER, XOAUTH2: the OpenID issuer whose JWT access tokens log in; its keys come from"
                    + " URL/.well-known/openid-configuration. https, or http on a loopback address."),
    OAUTH2_AUDIENCE("oauth2-audience", "NAME", Type.STRING, null, Applies.SERVING,
            "A token's aud must hold NAME (unchecked without it)."),
    OAUTH2_USERNAME_CLAIM("oauth2-username-claim", "CLAIM", Type.STRING, "email", Applies.SERVING,
            "The token's claim naming the user: email, preferred_username, sub, upn... (default: ${DEFAULT-VALUE})."),
    OAUTH2_REQUIRED_SCOPE("oauth2-required-scope", "SCOPE", Type.STRING, null, Applies.SERVING,
            "A scope the token must have (its scope or scp claim)."),
    OAUTH2_INTROSPECTION_URL("oauth2-introspection-url", "URL", Type.STRING, null, Applies.SERVING,
            "RFC 7662 introspection endpoint for tokens that are not JWTs (every token without oauth2-issuer)."),
    OAUTH2_CLIENT_ID("oauth2-client-id", "ID", Type.STRING, null, Applies.SERVING,
            "With oauth2-introspection-url: the client it authenticates as (HTTP Basic)."),
    OAUTH2_CLIENT_SECRET_FILE("oauth2-client-secret-file", "FILE", Type.PATH, null, Applies.SERVING,
            "With oauth2-client-id: a file holding its secret (its first line)."),
    OAUTH2_INTROSPECTION_CACHE("oauth2-introspection-cache", "TIME", Type.DURATION, "60s", Applies.SERVING,
            "How long an active token's introspection is kept, never past its exp; 0 to ask every time"
                    + " (default: ${DEFAULT-VALUE})."),
    OAUTH2_CA_FILE("oauth2-ca-file", "FILE", Type.PATH, null, Applies.SERVING,
            "PEM certificates trusted for the issuer's TLS, instead of the system's."),
    OAUTH2_CLOCK_SKEW("oauth2-clock-skew", "TIME", Type.DURATION, "60s", Applies.SERVING,
            "How far the issuer's clock may be from this host's, for exp and nbf (default: ${DEFAULT-VALUE})."),
    LOG_FILE("log-file", "FILE", Type.PATH, null, Applies.SERVING,
            "Append log lines to FILE. Without it, logs are dropped: stdout and stderr belong to the protocol."),
    LOG_LEVEL("log-level", "LEVEL", Type.LOG_LEVEL, "info", Applies.SERVING,
            "trace, debug, info, warn, error or off (default: ${DEFAULT-VALUE})."),
    SYSLOG_FACILITY("syslog-facility", "FACILITY", Type.FACILITY, null, Applies.SERVING,
            "Also send every log line to syslog, tagged saslauth[PID], with this facility: mail, daemon, auth,"
                    + " authpriv, user, local0 to local7; none for no syslog (default: none)."),
    SYSLOG_SOCKET("syslog-socket", "PATH", Type.PATH, "/dev/log", Applies.SERVING,
            "With --syslog-facility: the syslog socket, a UNIX datagram socket (default: ${DEFAULT-VALUE})."),
    LISTEN("listen", "ADDRESS", Type.LISTEN, null, Applies.DAEMON,
            "unix:PATH or tcp:HOST:PORT, several separated by commas; repeatable. Without it, the listening"
                    + " socket given as stdin by systemd (StandardInput=socket)."),
    SOCKET_MODE("socket-mode", "MODE", Type.MODE, "0660", Applies.DAEMON,
            "Permissions of the UNIX sockets, octal (default: ${DEFAULT-VALUE})."),
    SOCKET_USER("socket-user", "USER", Type.STRING, null, Applies.DAEMON, "Owner of the UNIX sockets."),
    SOCKET_GROUP("socket-group", "GROUP", Type.STRING, null, Applies.DAEMON, "Group of the UNIX sockets."),
    ALLOW_FROM("allow-from", "CIDR,...", Type.ALLOW_FROM, null, Applies.DAEMON,
            "Client addresses allowed on TCP listeners; required for a non-loopback tcp: address."),
    USERDB_LISTEN("userdb-listen", "unix:PATH", Type.UNIX_SOCKET, null, Applies.DAEMON,
            "Also answer Dovecot auth-master USER lookups (does a user exist) on this socket."),
    USERDB_SOCKET_MODE("userdb-socket-mode", "MODE", Type.MODE, null, Applies.DAEMON,
            "Permissions of the --userdb-listen socket, octal (default: --socket-mode's)."),
    USERDB_SOCKET_USER("userdb-socket-user", "USER", Type.STRING, null, Applies.DAEMON,
            "Owner of the --userdb-listen socket (default: --socket-user's)."),
    USERDB_SOCKET_GROUP("userdb-socket-group", "GROUP", Type.STRING, null, Applies.DAEMON,
            "Group of the --userdb-listen socket (default: --socket-group's)."),
    METRICS_LISTEN("metrics-listen", "tcp:HOST:PORT", Type.TCP_ADDRESS, null, Applies.DAEMON,
            "Serve GET /metrics (Prometheus and OpenMetrics text) on this address: counters of the logins,"
                    + " their durations, the connections, the penalty, passdb errors, the cache and JVM memory."
                    + " A non-loopback address needs --allow-from, which then names the scrapers too."),
    MAX_CONNECTIONS("max-connections", "N", Type.POSITIVE, "1000", Applies.DAEMON,
            "Connections served at once; beyond it new ones are refused (default: ${DEFAULT-VALUE})."),
    WORKERS("workers", "N", Type.POSITIVE, null, Applies.DAEMON,
            "Slow password hashes (crypt, bcrypt, Argon2, PBKDF2) computed at once; other checks and lookups run"
                    + " beside them on 4 times as many threads, at least 16 (default: the number of CPUs, at least 2)."),
    CONFIG("config", "FILE", Type.PATH, null, Applies.EVERYWHERE,
            "Read options from a properties file; options on the command line win.");

    /** The commands that take options of the table. */
    enum For {
        /** {@code saslauth} with no command: a helper serving stdin/stdout. */
        SERVE,
        /** {@code saslauth test}. */
        TEST,
        /** {@code saslauth daemon}. */
        DAEMON
    }

    /** Which commands take an option. */
    enum Applies {
        /** Serving only: the helper and the daemon. */
        SERVING,
        /** Serving, and {@code test}, which must find users as the server does. */
        STORE,
        /** Every command that reads options: {@code --config}. */
        EVERYWHERE,
        /**
         * The daemon only: its sockets and pools. A helper reading the same config file passes
         * over these keys.
         */
        DAEMON;

        // Comparisons rather than switches on enums, here and in Type: javac makes a class for
        // the switches of each class, one more to load before the handshake.
        boolean takenBy(For command) {
            if (command == For.SERVE) {
                return this != DAEMON;
            }
            if (command == For.TEST) {
                return this == STORE || this == EVERYWHERE;
            }
            return true;
        }
    }

    /**
     * A value an option cannot take; the message says why. Not picocli's own exception: the
     * fast path would load picocli's classes for it, which no start-up cache holds (picocli's
     * class files are Java 5, and CDS takes Java 6 and later only).
     */
    static final class BadValue extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        BadValue(String message) {
            super(message);
        }
    }

    /** How a value is read; the same code for the fast path, picocli and the config file. */
    enum Type {
        PATH(Path.class), STRING(String.class), DURATION(Duration.class), COUNT(Integer.class),
        /** A time of the penalty store, up to 400 days: {@code 15m}, {@code 30d}. */
        PERIOD(Duration.class),
        BOOLEAN(Boolean.class), NAME_FORMAT(NameFormat.class), LOG_LEVEL(String.class),
        /** A syslog facility's name, or {@code none}. */
        FACILITY(String.class),
        /** Daemon: a whole number of at least 1. */
        POSITIVE(Integer.class),
        /** Daemon: a list of {@link ListenAddress}es, each given value a comma list, repeatable. */
        LISTEN(List.class),
        /**
         * Daemon: an octal mode of socket files, as a set of {@code PosixFilePermission}s (the
         * type for picocli is Object: a Set would make the option repeatable).
         */
        MODE(Object.class),
        /** Daemon: an {@link AllowFrom} (Object here: a class literal would load it in every helper). */
        ALLOW_FROM(Object.class),
        /** Daemon: the path of a {@code unix:PATH} address. */
        UNIX_SOCKET(Path.class),
        /** Daemon: a {@code tcp:HOST:PORT} address (Object here: its class is the daemon's). */
        TCP_ADDRESS(Object.class);

        final Class<?> javaType;

        Type(Class<?> javaType) {
            this.javaType = javaType;
        }

        /** Whether the option may be given more than once, its values adding up. */
        boolean repeatable() {
            return this == LISTEN;
        }

        /**
         * The value, or a {@link BadValue} saying what is wrong, which picocli shows as
         * {@code Invalid value for option '--NAME': MESSAGE}.
         */
        Object convert(String value) {
            if (this == PATH) {
                if (value.isEmpty()) {
                    throw new BadValue("an empty file name");
                }
                return Path.of(value);
            }
            if (this == STRING) {
                return value;
            }
            if (this == DURATION) {
                return Durations.parse(value);
            }
            if (this == COUNT) {
                return count(value);
            }
            if (this == PERIOD) {
                return Durations.period(value);
            }
            if (this == BOOLEAN) {
                if (value.equalsIgnoreCase("true") || value.equalsIgnoreCase("false")) {
                    return Boolean.parseBoolean(value);
                }
                throw new BadValue("'" + value + "' is not true or false");
            }
            if (this == NAME_FORMAT) {
                return NameFormat.parse(value);
            }
            if (this == LOG_LEVEL) {
                for (String level : Logging.LEVELS) {
                    if (level.equals(value)) {
                        return value;
                    }
                }
                throw new BadValue("'" + value + "' is not one of " + String.join(", ", Logging.LEVELS));
            }
            if (this == FACILITY) {
                if (value.equals("none") || Syslog.code(value) >= 0) {
                    return value;
                }
                throw new BadValue("'" + value + "' is not one of " + String.join(", ", Syslog.FACILITIES) + " or none");
            }
            if (this == POSITIVE) {
                Integer n = count(value);
                if (n < 1) {
                    throw new BadValue("'" + value + "': must be at least 1");
                }
                return n;
            }
            return daemonValue(value);
        }

        /** The daemon's types, apart so that the helper's conversions never touch daemon classes. */
        private Object daemonValue(String value) {
            try {
                if (this == LISTEN) {
                    List<ListenAddress> addresses = new ArrayList<>();
                    for (String one : value.split(",")) {
                        addresses.add(ListenAddress.parse(one.strip()));
                    }
                    return addresses;
                }
                if (this == MODE) {
                    return SocketFile.parseMode(value);
                }
                if (this == ALLOW_FROM) {
                    return AllowFrom.parse(value);
                }
                if (this == UNIX_SOCKET) {
                    if (ListenAddress.parse(value) instanceof ListenAddress.Unix u) {
                        return u.path();
                    }
                    throw new IllegalArgumentException("'" + value + "': unix:PATH only");
                }
                if (this == TCP_ADDRESS) {
                    if (ListenAddress.parse(value) instanceof ListenAddress.Tcp t) {
                        return t;
                    }
                    throw new IllegalArgumentException("'" + value + "': tcp:HOST:PORT only");
                }
                throw new IllegalStateException(name());
            } catch (IllegalArgumentException e) {
                throw new BadValue(e.getMessage());
            }
        }

        /** A plain decimal number of at most nine digits, without sign or leading zero. */
        private static Integer count(String value) {
            boolean ok = !value.isEmpty() && value.length() <= 9 && (value.length() == 1 || value.charAt(0) != '0');
            for (int i = 0; ok && i < value.length(); i++) {
                ok = value.charAt(i) >= '0' && value.charAt(i) <= '9';
            }
            if (!ok) {
                throw new BadValue("'" + value + "' is not a whole number such as 32");
            }
            return Integer.parseInt(value);
        }
    }

    /** {@code --username-format}: Dovecot's {@code %u} or {@code %Lu}. */
    enum NameFormat {
        AS_IS, LOWERCASE;

        static NameFormat parse(String value) {
            switch (value.strip().toLowerCase(Locale.ROOT)) {
                case "as-is":
                case "%u":
                    return AS_IS;
                case "lowercase":
                case "%lu":
                    return LOWERCASE;
                default:
                    throw new BadValue("'" + value + "' is not as-is or lowercase");
            }
        }
    }

    final String longName;
    final String label;
    final Type type;
    /** The default as it would be written, or null for none. */
    final String defaultValue;
    final Applies applies;
    final String description;

    ServingOption(String longName, String label, Type type, String defaultValue, Applies applies,
            String description) {
        this.longName = longName;
        this.label = label;
        this.type = type;
        this.defaultValue = defaultValue;
        this.applies = applies;
        this.description = description;
    }

    /** The option of that long name (without dashes), if there is one. */
    static Optional<ServingOption> named(String longName) {
        for (ServingOption o : values()) {
            if (o.longName.equals(longName)) {
                return Optional.of(o);
            }
        }
        return Optional.empty();
    }
}
