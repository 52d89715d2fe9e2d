package org.saslauth;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
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

    private static final String[] OPTIONS = {
        "passwd-file", "username-format", "default-realm", "mechanisms", "failure-delay",
        "max-pending", "log-file", "log-level", "config"
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
            if (!known(name) || value.isEmpty() || value.startsWith("-") || value.startsWith("@")
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

    private static boolean known(String name) {
        for (String o : OPTIONS) {
            if (o.equals(name)) {
                return true;
            }
        }
        return false;
    }

    /** Values from the properties file, under the command line's; false for any problem. */
    private static boolean applyConfig(String file, Map<String, String> given) {
        Properties props = new Properties();
        try (Reader r = Files.newBufferedReader(Path.of(file), StandardCharsets.UTF_8)) {
            props.load(r);
        } catch (IOException | RuntimeException e) {
            return false;
        }
        for (String key : props.stringPropertyNames()) {
            if (key.equals("config") || !known(key)) {
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

    private static Saslauth build(Map<String, String> o) {
        Saslauth s = new Saslauth();
        s.store.passwdFile = path(o.get("passwd-file"));
        s.store.usernameFormat = new StoreOptions.FormatConverter().convert(o.getOrDefault("username-format", "as-is"));
        s.store.defaultRealm = o.get("default-realm");
        s.mechanisms = o.getOrDefault("mechanisms", org.saslauth.mech.Mechanisms.DEFAULT);
        s.failureDelay = Durations.parse(o.getOrDefault("failure-delay", "2s"));
        s.maxPending = count(o.getOrDefault("max-pending", "32"));
        s.logFile = path(o.get("log-file"));
        s.logLevel = o.getOrDefault("log-level", "info");
        s.config = path(o.get("config"));
        return s;
    }

    private static Path path(String value) throws InvalidPathException {
        return value == null ? null : Path.of(value);
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
