package org.saslauth.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * Every option of the serving commands, one entry each: its name (also its key in a config
 * file), value label, type, default, help text, and which commands take it. The start-up fast
 * path ({@link ServingArgs}), picocli's model ({@link OptionTable}: help, errors, the manual),
 * the config file ({@link ConfigFile}) and the tests all read this table, so a new option is
 * one entry here.
 */
enum ServingOption {

    PASSWD_FILE("passwd-file", "FILE", Type.PATH, null, Applies.STORE,
            "Users in Dovecot's passwd-file format (user:{SCHEME}password...)."),
    USERNAME_FORMAT("username-format", "FORMAT", Type.NAME_FORMAT, "as-is", Applies.STORE,
            "as-is or lowercase, like Dovecot's auth_username_format %%u / %%Lu (default: as-is)."),
    DEFAULT_REALM("default-realm", "DOMAIN", Type.STRING, null, Applies.STORE,
            "Appended as @DOMAIN to user names without '@', like auth_default_realm."),
    MECHANISMS("mechanisms", "LIST", Type.STRING, "PLAIN,LOGIN", Applies.SERVING,
            "Comma-separated mechanisms to offer: PLAIN, LOGIN, OREORE (default: ${DEFAULT-VALUE})."),
    FAILURE_DELAY("failure-delay", "DURATION", Type.DURATION, "2s", Applies.SERVING,
            "Delay before a FAIL reply, like Dovecot's auth_failure_delay; 0 for none, at most 5s (default: 2s)."),
    MAX_PENDING("max-pending", "N", Type.COUNT, "32", Applies.SERVING,
            "Unfinished exchanges kept per connection; the oldest is dropped beyond that (default: ${DEFAULT-VALUE})."),
    MAX_AUTH_RATE("max-auth-rate", "N", Type.COUNT, "100", Applies.SERVING,
            "AUTH requests a second allowed on one connection, 0 for no limit; beyond it they get FAIL (default: ${DEFAULT-VALUE})."),
    AUTH_PENALTY("auth-penalty", "true|false", Type.BOOLEAN, "true", Applies.SERVING,
            "Grow the failure delay for repeated failures from one client address, up to 5s in all (default: ${DEFAULT-VALUE})."),
    LOG_FILE("log-file", "FILE", Type.PATH, null, Applies.SERVING,
            "Append log lines to FILE. Without it, logs are dropped: stdout and stderr belong to the protocol."),
    LOG_LEVEL("log-level", "LEVEL", Type.LOG_LEVEL, "info", Applies.SERVING,
            "trace, debug, info, warn, error or off (default: ${DEFAULT-VALUE})."),
    CONFIG("config", "FILE", Type.PATH, null, Applies.EVERYWHERE,
            "Read options from a properties file; options on the command line win.");

    /** Which commands take an option. */
    enum Applies {
        /** Serving only. */
        SERVING,
        /** Serving, and {@code test}, which must find users as the server does. */
        STORE,
        /** Every command that reads options: {@code --config}. */
        EVERYWHERE;

        boolean test() {
            return this != SERVING;
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
        BOOLEAN(Boolean.class), NAME_FORMAT(NameFormat.class), LOG_LEVEL(String.class);

        final Class<?> javaType;

        Type(Class<?> javaType) {
            this.javaType = javaType;
        }

        /**
         * The value, or a {@link BadValue} saying what is wrong, which picocli shows as
         * {@code Invalid value for option '--NAME': MESSAGE}.
         */
        Object convert(String value) {
            switch (this) {
                case PATH:
                    if (value.isEmpty()) {
                        throw new BadValue("an empty file name");
                    }
                    return Path.of(value);
                case STRING:
                    return value;
                case DURATION:
                    return Durations.parse(value);
                case COUNT:
                    return count(value);
                case BOOLEAN:
                    if (value.equalsIgnoreCase("true") || value.equalsIgnoreCase("false")) {
                        return Boolean.parseBoolean(value);
                    }
                    throw new BadValue("'" + value + "' is not true or false");
                case NAME_FORMAT:
                    return NameFormat.parse(value);
                case LOG_LEVEL:
                    for (String level : Logging.LEVELS) {
                        if (level.equals(value)) {
                            return value;
                        }
                    }
                    throw new BadValue("'" + value + "' is not one of " + String.join(", ", Logging.LEVELS));
                default:
                    throw new IllegalStateException(name());
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

    /** The option of that long name (without dashes), or null. */
    static ServingOption named(String longName) {
        for (ServingOption o : values()) {
            if (o.longName.equals(longName)) {
                return o;
            }
        }
        return null;
    }
}
