package org.saslauth.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.IGetter;
import picocli.CommandLine.Model.ISetter;
import picocli.CommandLine.Model.OptionSpec;

/**
 * picocli's model of the {@link ServingOption} table, for the commands that take its options:
 * help, usage errors, the config file as picocli's default values, and the manual all come
 * from it. Only the slow path builds it: a plain serving command line never does.
 */
final class OptionTable {

    private OptionTable() {}

    /**
     * Adds the options that {@code command} takes to {@code spec}, writing their values into
     * {@code into}; the daemon's own come first, so that its help opens with them.
     */
    static void addTo(CommandSpec spec, Options into, ServingOption.For command) {
        for (ServingOption option : ServingOption.values()) {
            if (option.applies == ServingOption.Applies.DAEMON && command == ServingOption.For.DAEMON) {
                add(spec, into, option);
            }
        }
        for (ServingOption option : ServingOption.values()) {
            if (option.applies.takenBy(command) && option.applies != ServingOption.Applies.DAEMON) {
                add(spec, into, option);
            }
        }
    }

    private static void add(CommandSpec spec, Options into, ServingOption option) {
        ISetter setter = new ISetter() {
            @Override
            @SuppressWarnings("unchecked")
            public <T> T set(T value) {
                Object old = into.get(option);
                into.set(option, value);
                return (T) old;
            }
        };
        IGetter getter = new IGetter() {
            @Override
            @SuppressWarnings("unchecked")
            public <T> T get() {
                return (T) into.get(option);
            }
        };
        ITypeConverter<Object> converter = value -> {
            try {
                return option.type.convert(value);
            } catch (ServingOption.BadValue e) {
                throw new TypeConversionException(e.getMessage());
            }
        };
        OptionSpec.Builder b = OptionSpec.builder("--" + option.longName)
                .paramLabel(option.label)
                .type(option.type.javaType)
                .arity("1")
                .converters(converter)
                .description(option.description)
                .getter(getter)
                .setter(setter);
        if (option.type.repeatable()) { // each value converts to a list, which picocli adds up
            b.auxiliaryTypes(Object.class);
        }
        if (option.defaultValue != null) {
            b.defaultValue(option.defaultValue);
        }
        spec.addOption(b.build());
    }
}
