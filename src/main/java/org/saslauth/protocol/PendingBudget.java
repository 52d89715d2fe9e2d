package org.saslauth.protocol;

import static org.saslauth.Log.LOG;

/**
 * The memory that unfinished exchanges may hold in one process, all connections together. A
 * connection bounds its own exchanges ({@code --max-pending}), but a daemon has many
 * connections: 800 of them with 32 exchanges each, every one holding a 12 KB first message,
 * filled a 128 MiB heap. Each exchange is charged what it may keep ({@link #EXCHANGE} for the
 * engine's record and the mechanism's state, which mechanisms bound, plus the lines held for
 * it); an AUTH that would pass the budget is answered {@code FAIL ... code=temp_fail}, and the
 * charge is given back when the exchange ends, however it ends.
 */
final class PendingBudget {

    /** What one exchange may hold besides its lines: the engine's record and the mechanism's state. */
    static final int EXCHANGE = 2048;

    private static final long LOG_EVERY = 60_000_000_000L;

    private final long max;
    private long used;
    private long refused;
    private long lastLog;
    private boolean logged;

    /** @param max bytes; a quarter of the heap by default ({@link #ofHeap}) */
    PendingBudget(long max) {
        this.max = max;
    }

    /** A quarter of the heap's limit: 32 MiB under the launcher's {@code -Xmx128m}. */
    static PendingBudget ofHeap() {
        return new PendingBudget(Runtime.getRuntime().maxMemory() / 4);
    }

    /** Charges {@code bytes}, or says no (and logs it, at most once a minute) when the budget would pass. */
    synchronized boolean take(long bytes, long nowNanos) {
        if (used + bytes <= max) {
            used += bytes;
            return true;
        }
        refused++;
        if (!logged || nowNanos - lastLog >= LOG_EVERY) {
            LOG.warn("unfinished exchanges hold {} KiB, the limit of this process: {} request(s) refused"
                    + " with a temporary failure since the last such line", used / 1024, refused);
            logged = true;
            lastLog = nowNanos;
            refused = 0;
        }
        return false;
    }

    synchronized void give(long bytes) {
        used -= bytes;
    }

    synchronized long used() {
        return used;
    }
}
