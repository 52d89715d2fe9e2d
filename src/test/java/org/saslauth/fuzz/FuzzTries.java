package org.saslauth.fuzz;

import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropagationMode;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

/**
 * Scales the tries of every property in a class by {@code -Dfuzz.tries=N}: N is the number of
 * tries of a property written with {@link AuthServerFuzzTest#TRIES}, and the others keep their
 * proportion to it. Without the property, the tries written in the code run (the CI budget).
 */
final class FuzzTries implements AroundPropertyHook {

    @Override
    public PropagationMode propagateTo() {
        return PropagationMode.ALL_DESCENDANTS;
    }

    @Override
    public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
        String wanted = System.getProperty("fuzz.tries");
        if (wanted != null && !wanted.isBlank()) {
            double factor = Double.parseDouble(wanted.strip()) / AuthServerFuzzTest.TRIES;
            int written = context.attributes().tries().orElse(AuthServerFuzzTest.TRIES);
            context.attributes().setTries((int) Math.max(1, Math.round(written * factor)));
        }
        return property.execute();
    }
}
