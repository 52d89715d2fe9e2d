package org.saslauth;

import java.time.Duration;

/**
 * The instant by which a request must be answered, on a given {@link Clock}: Postfix stops
 * waiting 10 s after it asked, so every wait below the engine (a worker, a slot for a slow hash, a
 * database) ends at this one instant rather than after a timeout of its own, and time already
 * spent is never counted twice. {@link #NONE} is for commands with nobody waiting on a reply
 * ({@code saslauth test}, {@code saslauth hash}). Immutable.
 */
public final class Deadline {

    /**
     * The longest one wait lasts before the clock is read again: a wait on a clock moved by hand
     * (a test's) then ends soon after the clock passes the deadline, and on the system clock the
     * few extra wake-ups cost nothing.
     */
    static final long SLICE_NANOS = 50_000_000L;

    /**
     * No deadline: never passed, always {@link Long#MAX_VALUE} nanoseconds left; on the system
     * clock, which {@link #atMost} then measures its limit on.
     */
    public static final Deadline NONE = new Deadline(Clock.SYSTEM, 0, false);

    private final Clock clock;
    private final long dueNanos;
    private final boolean bounded;

    private Deadline(Clock clock, long dueNanos, boolean bounded) {
        this.clock = clock;
        this.dueNanos = dueNanos;
        this.bounded = bounded;
    }

    /** Due at {@code dueNanos} on {@code clock}'s scale. */
    public static Deadline at(Clock clock, long dueNanos) {
        return new Deadline(clock, dueNanos, true);
    }

    /** Due {@code within} from now on {@code clock}. */
    public static Deadline in(Clock clock, Duration within) {
        return at(clock, clock.nanoTime() + within.toNanos());
    }

    /** The clock this deadline is read on. */
    public Clock clock() {
        return clock;
    }

    /** Nanoseconds until the deadline, 0 once it has passed; {@link Long#MAX_VALUE} for {@link #NONE}. */
    public long nanosLeft() {
        if (!bounded) {
            return Long.MAX_VALUE;
        }
        return Math.max(0, dueNanos - clock.nanoTime());
    }

    /** Whether the answer is due now or overdue. */
    public boolean passed() {
        return nanosLeft() == 0;
    }

    /**
     * This deadline or {@code limit} from now, whichever comes first: a wait that has a bound of
     * its own (a driver's lookup limit) keeps it when the request has more time left.
     */
    public Deadline atMost(Duration limit) {
        long now = clock.nanoTime();
        long cap = now + limit.toNanos();
        if (bounded && dueNanos - cap <= 0) {
            return this;
        }
        return new Deadline(clock, cap, true);
    }

    /**
     * The instant {@code nanos} before this one: when a wait must end for work of that length
     * still to be done in time. {@link #NONE} stays none.
     */
    public Deadline shortened(long nanos) {
        return bounded ? new Deadline(clock, dueNanos - nanos, true) : this;
    }

    /** What {@link #await} waits on: one bounded wait, true once what it waits for has come. */
    @FunctionalInterface
    public interface TimedWait {
        boolean await(long nanos) throws InterruptedException;
    }

    /**
     * Waits on {@code wait} until it succeeds or this deadline passes, in waits of at most
     * {@value #SLICE_NANOS} ns with the clock read between them.
     *
     * @return true when {@code wait} succeeded, false at the deadline
     */
    public boolean await(TimedWait wait) throws InterruptedException {
        while (true) {
            long left = nanosLeft();
            if (left == 0) {
                return wait.await(0);
            }
            if (wait.await(Math.min(left, SLICE_NANOS))) {
                return true;
            }
        }
    }

    @Override
    public String toString() {
        return bounded ? "Deadline[" + Duration.ofNanos(nanosLeft()) + " left]" : "Deadline[none]";
    }
}
