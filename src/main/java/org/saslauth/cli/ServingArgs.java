package org.saslauth.cli;

import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

/**
 * The one reader of raw command-line words outside picocli, for start-up time: building
 * picocli's model takes longer than everything else before the handshake, and Postfix starts
 * one helper per smtpd, whose first EHLO waits for it.
 *
 * <p>{@link #parse} takes only the plain serving command line: {@link ServingOption}s as
 * {@code --name value} or {@code --name=value}, each at most once, and {@code --config FILE}
 * with known keys, of which those of the daemon alone are passed over, as picocli does. Anything else, including every error, returns null so that picocli parses
 * the command line and says what is wrong. {@link #find} looks up one option leniently, for
 * what must be known before picocli runs: where the config file and the log file are.
 */
final class ServingArgs {

    private ServingArgs() {}

    /** The serving command's options, defaults included; null to leave the command line to picocli. */
    static Options parse(String[] args) {
        Map<ServingOption, String> given = words(args);
        if (given == null) {
            return null;
        }
        String config = given.get(ServingOption.CONFIG);
        if (config != null) {
            ConfigFile.Contents contents;
            try {
                contents = ConfigFile.read(Path.of(config));
            } catch (ConfigFile.Invalid | RuntimeException e) {
                return null;
            }
            if (!contents.warnings().isEmpty()) {
                return null; // picocli's path logs them
            }
            for (Map.Entry<ServingOption, String> e : contents.values().entrySet()) {
                if (e.getKey().applies.takenBy(ServingOption.For.SERVE)) {
                    given.putIfAbsent(e.getKey(), e.getValue());
                }
            }
        }
        Options options = Options.defaults(ServingOption.For.SERVE);
        try {
            for (Map.Entry<ServingOption, String> e : given.entrySet()) {
                options.set(e.getKey(), e.getKey().type.convert(e.getValue()));
            }
        } catch (RuntimeException e) { // a value picocli would refuse: let it say so
            return null;
        }
        return options;
    }

    /** The plain words of a serving command line by option, or null when they are not plain. */
    private static Map<ServingOption, String> words(String[] args) {
        Map<ServingOption, String> given = new EnumMap<>(ServingOption.class);
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--")) {
                return null;
            }
            int eq = arg.indexOf('=');
            ServingOption option = ServingOption.named(eq < 0 ? arg.substring(2) : arg.substring(2, eq));
            String value;
            if (eq >= 0) {
                value = arg.substring(eq + 1);
            } else if (i + 1 < args.length) {
                value = args[++i];
            } else {
                return null;
            }
            if (option == null || !option.applies.takenBy(ServingOption.For.SERVE) || value.isEmpty() || value.startsWith("-") || value.startsWith("@")
                    || given.put(option, value) != null) {
                return null;
            }
        }
        return given;
    }

    /**
     * The last value given for {@code option} anywhere in the arguments (after a subcommand
     * too), else the config file's, else null; never an error.
     */
    static String find(String[] args, ServingOption option) {
        String found = lastValue(args, "--" + option.longName);
        if (found != null || option == ServingOption.CONFIG) {
            return found;
        }
        String config = lastValue(args, "--config");
        if (config == null) {
            return null;
        }
        try {
            String v = ConfigFile.readRaw(Path.of(config)).get(option.longName);
            return v == null || v.isEmpty() ? null : v;
        } catch (ConfigFile.Invalid | RuntimeException e) {
            return null;
        }
    }

    private static String lastValue(String[] args, String name) {
        String found = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals(name) && i + 1 < args.length) {
                found = args[i + 1];
            } else if (args[i].startsWith(name + "=")) {
                found = args[i].substring(name.length() + 1);
            }
        }
        return found;
    }
}
