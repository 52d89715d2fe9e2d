package org.saslauth;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

/**
 * The serving command line without picocli, for start-up time: building picocli's model of the
 * annotated classes (reflection, annotation proxies, its converters and help) takes longer than
 * everything else before the handshake. Postfix starts one helper per smtpd, and smtpd's first
 * EHLO waits for it.
 *
 * <p>Only the plain case is taken here: serving options (as {@code --name value} or
 * {@code --name=value}, each at most once) and {@code --config FILE} with known keys. Anything
 * else, including every error, returns null so that picocli parses the command line and says
 * what is wrong exactly as it always does. Option names, defaults and converters are those of
 * {@link Saslauth} and {@link StoreOptions}.
 */
final class ServingArgs {

    /** Every serving option, by its long name; a test holds this to picocli's model. */
    static final String[] OPTIONS = {
        "passwd-file", "passdb", "sql-url", "sql-user", "sql-password-file", "password-query",
        "default-pass-scheme", "ldap-url", "ldap-starttls", "ldap-ca-file", "ldap-bind-dn",
        "ldap-bind-password-file", "ldap-base", "ldap-user-filter", "ldap-auth-bind",
        "ldap-password-attribute", "checkpassword-program", "cache-ttl", "cache-negative-ttl", "cache-size",
        "username-format", "default-realm", "mechanisms", "failure-delay",
        "max-pending", "max-auth-rate", "auth-penalty", "log-file", "log-level", "config"
    };

    private ServingArgs() {}

    /** The serving command, its options set; null to leave the command line to picocli. */
    static Saslauth parse(String[] args) {
        Map<String, String> given = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--")) {
                return null;
            }
            int eq = arg.indexOf('=');
            String name = eq < 0 ? arg.substring(2) : arg.substring(2, eq);
            String value;
            if (eq >= 0) {
                value = arg.substring(eq + 1);
            } else if (i + 1 < args.length) {
                value = args[++i];
            } else {
                return null;
            }
            if (!isOption(name) || value.isEmpty() || value.startsWith("-") || value.startsWith("@")
                    || given.put(name, value) != null) {
                return null;
            }
        }
        String config = given.get("config");
        if (config != null && !applyConfig(config, given)) {
            return null;
        }
        try {
            return build(given);
        } catch (RuntimeException e) { // a value picocli would refuse: let it say so
            return null;
        }
    }

    static boolean isOption(String name) {
        for (String o : OPTIONS) {
            if (o.equals(name)) {
                return true;
            }
        }
        return false;
    }

    /** Values from the properties file, under the command line's; false for any problem. */
    private static boolean applyConfig(String file, Map<String, String> given) {
        Properties props;
        try {
            props = Saslauth.ConfigFile.read(Path.of(file));
        } catch (Saslauth.ConfigFile.Invalid | RuntimeException e) {
            return false;
        }
        for (String key : props.stringPropertyNames()) {
            if (key.equals("config") || !isOption(key)) {
                return false;
            }
            String value = props.getProperty(key).strip();
            if (value.isEmpty()) {
                return false;
            }
            given.putIfAbsent(key, value);
        }
        return true;
    }

    /** The options given, over the defaults, which are the fields' initial values. */
    private static Saslauth build(Map<String, String> o) {
        Saslauth s = new Saslauth();
        for (Map.Entry<String, String> e : o.entrySet()) {
            String v = e.getValue();
            switch (e.getKey()) {
                case "passwd-file" -> s.store.passwdFile = Path.of(v);
                case "passdb" -> s.store.passdb = v;
                case "sql-url" -> s.store.sqlUrl = v;
                case "sql-user" -> s.store.sqlUser = v;
                case "sql-password-file" -> s.store.sqlPasswordFile = Path.of(v);
                case "password-query" -> s.store.passwordQuery = v;
                case "default-pass-scheme" -> s.store.defaultPassScheme = v;
                case "ldap-url" -> s.store.ldapUrl = v;
                case "ldap-starttls" -> s.store.ldapStarttls = bool(v);
                case "ldap-ca-file" -> s.store.ldapCaFile = Path.of(v);
                case "ldap-bind-dn" -> s.store.ldapBindDn = v;
                case "ldap-bind-password-file" -> s.store.ldapBindPasswordFile = Path.of(v);
                case "ldap-base" -> s.store.ldapBase = v;
                case "ldap-user-filter" -> s.store.ldapUserFilter = v;
                case "ldap-auth-bind" -> s.store.ldapAuthBind = bool(v);
                case "ldap-password-attribute" -> s.store.ldapPasswordAttribute = v;
                case "checkpassword-program" -> s.store.checkpasswordProgram = Path.of(v);
                case "cache-ttl" -> s.store.cacheTtl = Durations.parse(v);
                case "cache-negative-ttl" -> s.store.cacheNegativeTtl = Durations.parse(v);
                case "cache-size" -> s.store.cacheSize = count(v);
                case "username-format" -> s.store.usernameFormat = new StoreOptions.FormatConverter().convert(v);
                case "default-realm" -> s.store.defaultRealm = v;
                case "mechanisms" -> s.mechanisms = v;
                case "failure-delay" -> s.failureDelay = Durations.parse(v);
                case "max-pending" -> s.maxPending = count(v);
                case "max-auth-rate" -> s.maxAuthRate = count(v);
                case "auth-penalty" -> s.authPenalty = bool(v);
                case "log-file" -> s.logFile = Path.of(v);
                case "log-level" -> s.logLevel = v;
                case "config" -> s.config = Path.of(v);
                default -> throw new IllegalArgumentException(e.getKey());
            }
        }
        return s;
    }

    /** {@code true} or {@code false} as picocli reads them; anything else is left to picocli. */
    private static boolean bool(String value) {
        if (value.equalsIgnoreCase("true") || value.equalsIgnoreCase("false")) {
            return Boolean.parseBoolean(value);
        }
        throw new IllegalArgumentException(value);
    }

    /** A plain decimal number; anything else is left to picocli's converter. */
    private static int count(String value) {
        if (value.isEmpty() || value.length() > 9 || (value.length() > 1 && value.charAt(0) == '0')) {
            throw new NumberFormatException(value);
        }
        for (int i = 0; i < value.length(); i++) {
            if (value.charAt(i) < '0' || value.charAt(i) > '9') {
                throw new NumberFormatException(value);
            }
        }
        return Integer.parseInt(value);
    }
}
