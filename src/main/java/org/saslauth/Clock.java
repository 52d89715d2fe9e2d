package org.saslauth;

/**
 * Monotonic time, given to whatever measures it so that tests can move it by hand instead of
 * waiting.
 */
public interface Clock {

    /** Monotonic time in nanoseconds, as {@link System#nanoTime()}: only differences mean anything. */
    long nanoTime();

    /** {@link System#nanoTime()}. */
    Clock SYSTEM = System::nanoTime;
}
