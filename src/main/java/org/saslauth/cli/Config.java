package org.saslauth.cli;

import static org.saslauth.cli.ServingOption.*;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Mechanism;
import org.saslauth.mech.Mechanisms;
import org.saslauth.mech.Tokens;
import org.saslauth.penalty.Exempt;
import org.saslauth.penalty.PenaltyPolicy;
import org.saslauth.penalty.PenaltyStore;
import org.saslauth.protocol.Settings;
import org.saslauth.store.CachedStore;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.UserNameFormat;

/**
 * What a serving command runs with, typed and checked: built once per start by {@link #of} from
 * the {@link Options} that the command line and the config file gave (defaults from the
 * {@link ServingOption} table), then handed down. Every check of the values is made here, once;
 * what is left for later is what only opening the passdb can tell (a missing file, a server down).
 * The daemon's own sockets and pools are {@link DaemonConfig}'s.
 */
record Config(Logs log, Serving serving, Store store) {

    /**
     * {@code --log-file}, {@code --log-level} and syslog: known before anything is checked, to
     * report the check.
     *
     * @param syslogFacility a facility of {@link Syslog#FACILITIES}, or empty for no syslog
     */
    record Logs(Optional<Path> file, String level, Optional<String> syslogFacility, Path syslogSocket) {
        static Logs of(Options o) {
            String facility = o.string(SYSLOG_FACILITY);
            // no lambda: each spins method handles before the handshake
            return new Logs(Optional.ofNullable(o.path(LOG_FILE)), o.string(LOG_LEVEL),
                    facility == null || facility.equals("none") ? Optional.empty() : Optional.of(facility),
                    o.path(SYSLOG_SOCKET));
        }

        /** Opens the log as these say: {@link Logging#toFile}. */
        void open() throws java.io.IOException {
            Logging.toFile(file.orElse(null), level, syslogFacility.orElse(null), syslogSocket);
        }
    }

    /** The engine's options: what {@link Settings} holds, apart from the users. */
    record Serving(Mechanisms mechanisms, Duration failureDelay, int maxPending, boolean penalty, int maxAuthRate,
            int ipv6Prefix, PenaltyStore.Opener penaltyStore, Tokens tokens) {

        static Serving of(Options o) throws StartupError {
            try {
                return of(o, Mechanisms.parse(o.string(MECHANISMS)));
            } catch (IllegalArgumentException e) {
                throw new StartupError(o.name(MECHANISMS) + ": " + e.getMessage());
            }
        }

        /** The engine's options, offering {@code mechs}. */
        static Serving of(Options o, Mechanisms mechs) throws StartupError {
            return of(o, mechs, Config.penaltyStore(o));
        }

        /** The engine's options, offering {@code mechs}, counting bans in {@code penalties}. */
        static Serving of(Options o, Mechanisms mechs, PenaltyStore.Opener penalties) throws StartupError {
            return of(o, mechs, penalties, true);
        }

        /**
         * The engine's options for a configuration that cannot be used: {@code mechs} offered, no
         * issuer asked, so that every login, a token's too, is a temporary failure.
         */
        static Serving degraded(Options o, Mechanisms mechs) throws StartupError {
            return of(o, mechs, Config.penaltyStore(o), false);
        }

        private static Serving of(Options o, Mechanisms mechs, PenaltyStore.Opener penalties, boolean tokens)
                throws StartupError {
            Duration failureDelay = o.duration(FAILURE_DELAY);
            if (failureDelay.compareTo(Duration.ofSeconds(5)) > 0) {
                throw new StartupError(o.name(FAILURE_DELAY) + " must be at most 5s: Postfix gives up after 10s");
            }
            if (o.count(MAX_PENDING) < 1) {
                throw new StartupError(o.name(MAX_PENDING) + " must be at least 1");
            }
            if (o.count(IPV6_PREFIX) < 1 || o.count(IPV6_PREFIX) > 128) {
                throw new StartupError(o.name(IPV6_PREFIX) + " must be between 1 and 128 (bits of an IPv6 address)");
            }
            return new Serving(mechs, failureDelay, o.count(MAX_PENDING), o.bool(AUTH_PENALTY), o.count(MAX_AUTH_RATE),
                    o.count(IPV6_PREFIX), penalties, tokens ? Config.tokens(o, mechs) : null);
        }

        static Mechanisms mechanisms(String list) throws StartupError {
            try {
                return Mechanisms.parse(list);
            } catch (IllegalArgumentException e) {
                throw new StartupError("--mechanisms: " + e.getMessage());
            }
        }

        /**
         * The known mechanisms of the list, each unknown one a problem naming the nearest known
         * one; the default list when none is known, so that a helper still greets.
         */
        static Mechanisms known(Options o, List<String> problems) {
            List<String> known = new ArrayList<>();
            List<String> names = new ArrayList<>();
            for (Mechanism m : Mechanisms.BUILT_IN) {
                names.add(m.name());
            }
            for (String part : o.string(MECHANISMS).split(",")) {
                String name = part.strip();
                if (name.isEmpty()) {
                    continue;
                }
                try {
                    Mechanisms.parse(name);
                    known.add(name);
                } catch (IllegalArgumentException e) {
                    problems.add(o.name(MECHANISMS) + ": unknown mechanism '" + ConfigFile.Printable.of(name) + "'"
                            + Nearest.hint(name, names) + "; it is not offered");
                }
            }
            if (known.isEmpty()) {
                problems.add(o.name(MECHANISMS) + ": no known mechanism listed; offering " + Mechanisms.DEFAULT);
                return Mechanisms.parse(Mechanisms.DEFAULT);
            }
            return Mechanisms.parse(String.join(",", known));
        }

        /** The engine's view, with the users these settings serve. */
        Settings settings(Credentials credentials) {
            return new Settings(mechanisms, tokens == null ? credentials : credentials.withTokens(tokens), failureDelay, maxPending, penalty, maxAuthRate, ipv6Prefix,
                    penaltyStore);
        }
    }

    /**
     * The issuer that OAUTHBEARER and XOAUTH2 ask, from the {@code oauth2-*} keys; null when
     * neither mechanism is offered, so that a helper without them reads nothing of those keys and
     * loads no class of {@code org.saslauth.oauth}.
     */
    static Tokens tokens(Options o, Mechanisms mechs) throws StartupError {
        if (mechs.needing(Mechanism.Need.TOKEN).isEmpty()) {
            return null;
        }
        return OAuthKeys.tokens(o, mechs);
    }

    /** The thresholds of {@code --penalty-*}, checked. */
    static PenaltyPolicy penaltyPolicy(Options o) throws StartupError {
        for (ServingOption n : new ServingOption[] {PENALTY_BAN_USERS, PENALTY_BAN_PASSWORDS, PENALTY_PROTECT_ADDRESSES,
            PENALTY_PROTECT_PASSWORDS}) {
            if (o.count(n) < 2) {
                throw new StartupError(o.name(n) + " must be at least 2");
            }
        }
        if (o.count(PENALTY_PREFIX_BANS) < 1) {
            throw new StartupError(o.name(PENALTY_PREFIX_BANS) + " must be at least 1");
        }
        Exempt exempt = Exempt.NONE;
        String list = o.string(PENALTY_EXEMPT);
        if (list != null && !list.isBlank()) {
            try {
                exempt = Exempt.parse(list);
            } catch (IllegalArgumentException e) {
                throw new StartupError(o.name(PENALTY_EXEMPT) + ": " + e.getMessage());
            }
        }
        return new PenaltyPolicy(o.duration(PENALTY_WINDOW), o.count(PENALTY_BAN_USERS), o.count(PENALTY_BAN_PASSWORDS),
                o.duration(PENALTY_BAN_TIME), o.duration(PENALTY_BAN_MAX), o.count(PENALTY_PREFIX_BANS),
                o.duration(PENALTY_USER_WINDOW), o.count(PENALTY_PROTECT_ADDRESSES), o.count(PENALTY_PROTECT_PASSWORDS),
                o.duration(PENALTY_PROTECT_TIME),
                o.duration(PENALTY_KNOWN_FOR), exempt);
    }

    /**
     * {@code --penalty-store}: the memory store, or Redis's opener, made by {@link PenaltyStores}
     * so that a helper counting in memory loads no class of the Redis client. Nothing connects
     * here: the store connects at its first login.
     */
    static PenaltyStore.Opener penaltyStore(Options o) throws StartupError {
        PenaltyPolicy policy = penaltyPolicy(o);
        String url = o.string(PENALTY_STORE);
        if (url.equals("memory")) {
            if (o.path(PENALTY_STORE_PASSWORD_FILE) != null) {
                throw new StartupError(o.name(PENALTY_STORE_PASSWORD_FILE) + " is given without a redis:// penalty-store");
            }
            return new PenaltyStore.Memory(policy);
        }
        return PenaltyStores.redis(o, url, policy);
    }

    /** {@code --cache-ttl} and its companions: a cache in front of a passdb other than the passwd file. */
    record Cache(Duration ttl, Duration negativeTtl, int size) {}

    /**
     * {@code app-passwords-file}, or {@code app-password-query} with its update query: where the
     * app passwords are, checked before the passdb; {@code required} is
     * {@code app-passwords-required}.
     */
    record AppPasswords(Optional<Path> file, Optional<String> query, Optional<String> updateQuery, boolean required) {

        static Optional<AppPasswords> of(Options o, Passdb passdb) throws StartupError {
            Path file = o.path(APP_PASSWORDS_FILE);
            String query = blank(o.string(APP_PASSWORD_QUERY));
            String update = blank(o.string(APP_PASSWORD_UPDATE_QUERY));
            if (file != null && query != null) {
                throw new StartupError(o.name(APP_PASSWORDS_FILE) + " and " + o.name(APP_PASSWORD_QUERY)
                        + " are both given; app passwords come from one of them");
            }
            if (query != null && !(passdb instanceof Passdb.Sql)) {
                throw new StartupError(o.name(APP_PASSWORD_QUERY) + " needs passdb sql, whose database it asks;"
                        + " use app-passwords-file with other passdbs");
            }
            if (update != null && query == null) {
                throw new StartupError(o.name(APP_PASSWORD_UPDATE_QUERY) + " is given without app-password-query");
            }
            if (file == null && query == null) {
                if (o.bool(APP_PASSWORDS_REQUIRED)) {
                    throw new StartupError(o.name(APP_PASSWORDS_REQUIRED)
                            + " is true without app-passwords-file or app-password-query");
                }
                return Optional.empty();
            }
            if (!passdb.checksPasswords()) {
                throw new StartupError("app passwords need a passdb (--passwd-file or --passdb), whose users they log in");
            }
            return Optional.of(new AppPasswords(Optional.ofNullable(file), Optional.ofNullable(query),
                    Optional.ofNullable(update), o.bool(APP_PASSWORDS_REQUIRED)));
        }

        private static String blank(String s) {
            return s == null || s.isBlank() ? null : s;
        }
    }

    /**
     * The passdb, the cache in front of it, the app passwords in front of both, and the rules
     * that turn a client's name into a user's.
     */
    record Store(Passdb passdb, Optional<Cache> cache, UserNameFormat names, Optional<AppPasswords> appPasswords) {

        static Store of(Options o) throws StartupError {
            Passdb passdb = Config.passdb(o);
            Optional<Cache> cache = Optional.empty();
            // Not for the host's accounts: PAM decides on each login (its account phase, the
            // client's address), and the shadow file is in memory already.
            if (!o.duration(CACHE_TTL).isZero() && !(passdb instanceof Passdb.PasswdFile) && passdb.checksPasswords()
                    && !(passdb instanceof Passdb.Pam) && !(passdb instanceof Passdb.Shadow)) {
                if (o.count(CACHE_SIZE) < 1) {
                    throw new StartupError(o.name(CACHE_SIZE) + " must be at least 1");
                }
                cache = Optional.of(new Cache(o.duration(CACHE_TTL), o.duration(CACHE_NEGATIVE_TTL), o.count(CACHE_SIZE)));
            }
            // Without any app password key, AppPasswords is not even loaded: a helper starts as before.
            boolean apps = o.path(APP_PASSWORDS_FILE) != null || o.string(APP_PASSWORD_QUERY) != null
                    || o.string(APP_PASSWORD_UPDATE_QUERY) != null || o.bool(APP_PASSWORDS_REQUIRED);
            return new Store(passdb, cache, new UserNameFormat(o.nameFormat() == NameFormat.LOWERCASE,
                    Optional.ofNullable(o.string(DEFAULT_REALM))), apps ? AppPasswords.of(o, passdb) : Optional.empty());
        }

        /**
         * Opens the passdb. The passdbs other than the passwd file are opened by {@link Passdbs},
         * so that a helper serving a passwd file never loads a class of the pool, the JDBC
         * drivers or LDAP.
         *
         * @param poolSize connections a database or directory store keeps
         * @param failFast whether a server that cannot be reached at start is an error; a daemon
         *     retries instead
         * @param awaitFile whether a passwd file that cannot be used is looked at again at each
         *     login (a helper or daemon serving Postfix, which must not stop) rather than an error
         */
        CredentialStore open(int poolSize, boolean failFast, boolean awaitFile) throws StartupError {
            if (appPasswords.isEmpty()) {
                return openPassdb(poolSize, failFast, awaitFile);
            }
            return Passdbs.withAppPasswords(this, poolSize, failFast, awaitFile);
        }

        /** The passdb alone, with its cache: what {@link #open} puts app passwords in front of. */
        CredentialStore openPassdb(int poolSize, boolean failFast, boolean awaitFile) throws StartupError {
            if (passdb instanceof Passdb.PasswdFile p) {
                try {
                    return org.saslauth.store.PasswdFile.load(p.file());
                } catch (org.saslauth.store.PasswdFile.Invalid e) {
                    if (!awaitFile) {
                        throw new StartupError(e.getMessage());
                    }
                    org.saslauth.Log.LOG.error("{}; every login gets a temporary failure until this is fixed",
                            e.getMessage());
                    return new org.saslauth.store.AwaitedPasswdFile(p.file(), e.getMessage());
                }
            }
            if (!passdb.checksPasswords()) {
                return CredentialStore.NONE;
            }
            CredentialStore store;
            try {
                store = Passdbs.open(passdb, poolSize, failFast);
            } catch (org.saslauth.store.InvalidStoreConfig e) {
                throw new StartupError(e.getMessage());
            }
            if (cache.isEmpty()) {
                return store;
            }
            Cache c = cache.get();
            return new CachedStore(store, c.ttl(), c.negativeTtl(), c.size());
        }
    }

    /**
     * The configuration of a serving command, checked: the engine's options, the passdb's, and
     * that the passdb can give every mechanism offered what it needs.
     */
    static Config of(Options o) throws StartupError {
        Serving serving = Serving.of(o);
        Store store = Store.of(o);
        check(serving.mechanisms(), store.passdb(), o.name(MECHANISMS));
        return new Config(Logs.of(o), serving, store);
    }

    /**
     * The configuration of a serving command, which must greet whatever is wrong: an unknown
     * mechanism, or one the passdb cannot serve, is left out and added to {@code problems}
     * (to be logged), and the others are served. What leaves nothing to serve with is a
     * {@link StartupError}, as in {@link #of}.
     */
    static Config forServing(Options o, List<String> problems) throws StartupError {
        Mechanisms mechanisms = Serving.known(o, problems);
        Store store = Store.of(o);
        try {
            check(mechanisms, store.passdb(), o.name(MECHANISMS));
        } catch (StartupError e) {
            if (!store.passdb().checksPasswords()) {
                throw e;
            }
            List<String> servable = new ArrayList<>();
            for (Mechanism m : mechanisms.enabled()) {
                if (m.needs() != Mechanism.Need.LOOKUP) {
                    servable.add(m.name());
                }
            }
            mechanisms = Mechanisms.parse(servable.isEmpty() ? Mechanisms.DEFAULT : String.join(",", servable));
            problems.add(e.getMessage() + "; offering " + mechanisms + " meanwhile");
        }
        if (!mechanisms.needing(Mechanism.Need.TOKEN).isEmpty()) {
            try {
                tokens(o, mechanisms);
            } catch (StartupError e) {
                List<String> servable = new ArrayList<>();
                for (Mechanism m : mechanisms.enabled()) {
                    if (m.needs() != Mechanism.Need.TOKEN) {
                        servable.add(m.name());
                    }
                }
                mechanisms = Mechanisms.parse(servable.isEmpty() ? Mechanisms.DEFAULT : String.join(",", servable));
                problems.add(e.getMessage() + "; offering " + mechanisms + " meanwhile");
            }
        }
        PenaltyStore.Opener penalties;
        try {
            penalties = penaltyStore(o);
        } catch (StartupError e) { // no reason to refuse every SMTP session
            problems.add(e.getMessage() + "; counting bans in this process's memory, with the default thresholds");
            penalties = PenaltyStore.Opener.MEMORY;
        }
        return new Config(Logs.of(o), Serving.of(o, mechanisms, penalties), store);
    }

    /**
     * Refuses a passdb that cannot serve a mechanism offered: {@code --passdb checkpassword}
     * cannot give CRAM-MD5 the stored password it computes with, and each login would fail.
     */
    static void check(Mechanisms mechanisms, Passdb passdb) throws StartupError {
        check(mechanisms, passdb, "--mechanisms");
    }

    /** {@link #check(Mechanisms, Passdb)}, naming the mechanisms' option as {@code option}. */
    private static void check(Mechanisms mechanisms, Passdb passdb, String option) throws StartupError {
        // What the passdb declares first: a passwd file serves every mechanism, and a helper
        // serving one loads nothing more here before its handshake.
        if (passdb.checksPasswords() && passdb.givesStoredPasswords()) {
            return;
        }
        if (!passdb.checksPasswords()) {
            if (mechanisms.anyNeedsPassdb()) {
                throw new StartupError("--passwd-file or --passdb is required for " + mechanisms);
            }
            return;
        }
        List<Mechanism> lookups = mechanisms.needing(Mechanism.Need.LOOKUP);
        if (!lookups.isEmpty()) {
            List<String> names = new ArrayList<>();
            for (Mechanism m : lookups) {
                names.add(m.name());
            }
            // named as the administrator wrote it: options on the command line, keys in the file
            String passdbName = option.startsWith("--") ? passdb.describe() : passdb.describe().replace("--", "");
            throw new StartupError(option + " " + String.join(",", names) + " cannot be served by "
                    + passdbName + ": " + (names.size() == 1 ? "it computes" : "they compute")
                    + " with each user's stored password, and this passdb only checks a password it is given;"
                    + " offer PLAIN and LOGIN only, or use a passdb that stores passwords (passwd-file, sql, or ldap"
                    + " with a password attribute)");
        }
    }

    /** The passdb that the options name, with the options that kind requires. */
    static Passdb passdb(Options o) throws StartupError {
        String kind = o.string(PASSDB);
        switch (kind) {
            case "passwd-file": {
                Path file = o.path(PASSWD_FILE);
                return file == null ? new Passdb.None() : new Passdb.PasswdFile(file);
            }
            case "sql":
                return new Passdb.Sql(required(o, SQL_URL, kind), Optional.ofNullable(o.string(SQL_USER)),
                        Optional.ofNullable(o.path(SQL_PASSWORD_FILE)), required(o, PASSWORD_QUERY, kind),
                        o.string(DEFAULT_PASS_SCHEME));
            case "ldap": {
                String urls = required(o, LDAP_URL, kind);
                String base = required(o, LDAP_BASE, kind);
                if (o.path(LDAP_BIND_PASSWORD_FILE) != null && o.string(LDAP_BIND_DN) == null) {
                    throw new StartupError(o.name(LDAP_BIND_PASSWORD_FILE) + " is given without ldap-bind-dn");
                }
                return new Passdb.Ldap(urls, o.bool(LDAP_STARTTLS), Optional.ofNullable(o.path(LDAP_CA_FILE)),
                        Optional.ofNullable(o.string(LDAP_BIND_DN)), Optional.ofNullable(o.path(LDAP_BIND_PASSWORD_FILE)),
                        base, o.string(LDAP_USER_FILTER), o.bool(LDAP_AUTH_BIND), o.string(LDAP_PASSWORD_ATTRIBUTE),
                        o.string(DEFAULT_PASS_SCHEME));
            }
            case "checkpassword":
                if (o.path(CHECKPASSWORD_PROGRAM) == null) {
                    throw new StartupError(requiredMessage(o, CHECKPASSWORD_PROGRAM, kind));
                }
                return new Passdb.Checkpassword(o.path(CHECKPASSWORD_PROGRAM));
            case "shadow":
                return new Passdb.Shadow(o.path(ServingOption.SHADOW_FILE), o.count(ServingOption.SHADOW_MIN_UID));
            case "pam":
                return new Passdb.Pam(o.string(ServingOption.PAM_SERVICE));
            default:
                throw new StartupError(o.name(PASSDB) + " must be passwd-file, sql, ldap, checkpassword, shadow or pam, not '"
                        + ConfigFile.Printable.of(kind) + "'" + Nearest.hint(kind, PASSDBS));
        }
    }

    private static final List<String> PASSDBS = List.of("passwd-file", "sql", "ldap", "checkpassword", "shadow", "pam");

    /**
     * That {@code option} is missing, named as the passdb was given: on the command line, as
     * options; in the config file, as its file, line and keys.
     */
    private static String requiredMessage(Options o, ServingOption option, String passdb) {
        String named = o.name(PASSDB);
        return named.startsWith("--") ? "--" + option.longName + " is required for --passdb " + passdb
                : named + " = " + passdb + " needs the key " + option.longName + " as well";
    }

    private static String required(Options o, ServingOption option, String passdb) throws StartupError {
        String value = o.string(option);
        if (value == null || value.isBlank()) {
            throw new StartupError(requiredMessage(o, option, passdb));
        }
        return value;
    }
}
