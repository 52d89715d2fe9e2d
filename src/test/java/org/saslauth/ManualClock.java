package org.saslauth;

import java.time.Duration;

/** A clock that moves only when a test moves it. */
public final class ManualClock implements Clock {

    private volatile long now = 1_000_000_000L;

    @Override
    public long nanoTime() {
        return now;
    }

    /** Moves the clock forward by {@code d}. */
    public synchronized void advance(Duration d) {
        now += d.toNanos();
    }

    /** Moves the clock forward by {@code millis}. */
    public void advanceMillis(long millis) {
        advance(Duration.ofMillis(millis));
    }
}
