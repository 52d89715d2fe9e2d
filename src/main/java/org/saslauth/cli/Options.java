package org.saslauth.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;

/** The values of the {@link ServingOption}s of one command line, defaults included. */
final class Options {

    private final Map<ServingOption, Object> values = new EnumMap<>(ServingOption.class);

    /** Where the config file set an option the command line did not: how a message names it. */
    private final Map<ServingOption, String> origins = new EnumMap<>(ServingOption.class);

    /** Every option that {@code command} takes, at its default. */
    static Options defaults(ServingOption.For command) {
        Options o = new Options();
        for (ServingOption option : ServingOption.values()) {
            if (option.applies.takenBy(command)) {
                o.set(option, option.defaultValue == null ? null : option.type.convert(option.defaultValue));
            }
        }
        return o;
    }

    void set(ServingOption option, Object value) {
        values.put(option, value);
    }

    /**
     * Records which values came from the config file, so that a message about one names the
     * file, the line and the key rather than an option the administrator never typed.
     */
    Options from(ConfigFile.Contents contents, String[] args) {
        for (Map.Entry<ServingOption, String> e : contents.origins().entrySet()) {
            if (ServingArgs.find(args, e.getKey()).isEmpty()) {
                origins.put(e.getKey(), e.getValue());
            }
        }
        return this;
    }

    /** How a message names {@code option}: {@code --name}, or the config file's line and key. */
    String name(ServingOption option) {
        String origin = origins.get(option);
        return origin == null ? "--" + option.longName : origin;
    }

    Object get(ServingOption option) {
        return values.get(option);
    }

    Path path(ServingOption option) {
        return (Path) values.get(option);
    }

    String string(ServingOption option) {
        return (String) values.get(option);
    }

    Duration duration(ServingOption option) {
        return (Duration) values.get(option);
    }

    int count(ServingOption option) {
        return (Integer) values.get(option);
    }

    boolean bool(ServingOption option) {
        return (Boolean) values.get(option);
    }

    ServingOption.NameFormat nameFormat() {
        return (ServingOption.NameFormat) values.get(ServingOption.USERNAME_FORMAT);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Options o && values.equals(o.values);
    }

    @Override
    public int hashCode() {
        return values.hashCode();
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
