package org.saslauth.cli;

import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * The one reader of raw command-line words outside picocli, for start-up time: building
 * picocli's model takes longer than everything else before the handshake, and Postfix starts
 * one helper per smtpd, whose first EHLO waits for it.
 *
 * <p>{@link #parse} takes only the plain serving command line: {@link ServingOption}s as
 * {@code --name value} or {@code --name=value}, each at most once, and {@code --config FILE}
 * with known keys, of which those of the daemon alone are passed over, as picocli does.
 * Anything else, including every error, is left to picocli, which says what is wrong. Either
 * way the values are {@link Options}, which {@link Config#of} checks. {@link #find} looks up
 * one option leniently, for what must be known before picocli runs: where the config file is.
 */
final class ServingArgs {

    private ServingArgs() {}

    /**
     * The serving command's options, defaults included, with the config file's under the
     * command line's; empty to leave the command line to picocli.
     */
    static Optional<Options> parse(String[] args, ConfigFile.Contents contents) {
        Map<ServingOption, String> given = words(args);
        if (given == null) {
            return Optional.empty();
        }
        for (Map.Entry<ServingOption, String> e : contents.values().entrySet()) {
            if (e.getKey().applies.takenBy(ServingOption.For.SERVE)) {
                given.putIfAbsent(e.getKey(), e.getValue());
            }
        }
        Options options = Options.defaults(ServingOption.For.SERVE);
        try {
            for (Map.Entry<ServingOption, String> e : given.entrySet()) {
                options.set(e.getKey(), e.getKey().type.convert(e.getValue()));
            }
        } catch (RuntimeException e) { // a value picocli would refuse: let it say so
            return Optional.empty();
        }
        return Optional.of(options);
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
            Optional<ServingOption> option = ServingOption.named(eq < 0 ? arg.substring(2) : arg.substring(2, eq));
            String value;
            if (eq >= 0) {
                value = arg.substring(eq + 1);
            } else if (i + 1 < args.length) {
                value = args[++i];
            } else {
                return null;
            }
            if (option.isEmpty() || !option.get().applies.takenBy(ServingOption.For.SERVE) || value.isEmpty()
                    || value.startsWith("-") || value.startsWith("@") || given.put(option.get(), value) != null) {
                return null;
            }
        }
        return given;
    }

    /** The last value given for {@code option} anywhere in the arguments (after a subcommand too); never an error. */
    static Optional<String> find(String[] args, ServingOption option) {
        String name = "--" + option.longName;
        String found = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals(name) && i + 1 < args.length) {
                found = args[i + 1];
            } else if (args[i].startsWith(name + "=")) {
                found = args[i].substring(name.length() + 1);
            }
        }
        return Optional.ofNullable(found);
    }

    /**
     * {@link #find}, else the config file's value: {@code raw}, its keys as written, so that a
     * file that failed its check can still name the log file.
     */
    static Optional<String> find(String[] args, ServingOption option, Map<String, String> raw) {
        Optional<String> found = find(args, option);
        if (found.isPresent()) {
            return found;
        }
        String v = raw.get(option.longName);
        return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v);
    }
}
