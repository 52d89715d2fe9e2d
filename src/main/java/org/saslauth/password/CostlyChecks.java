package org.saslauth.password;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * How many costly password checks (SHA-crypt, MD5-crypt, bcrypt, Argon2, PBKDF2 and SCRAM
 * entries checked against a plaintext password) run at once in the process. The daemon runs its
 * checks on more threads than that, so that while every slot is busy with a slow hash, a
 * {PLAIN} or digest login on another connection still finds a thread and the CPU time it needs
 * at once, instead of queueing behind the hashes.
 */
public final class CostlyChecks {

    /** Checks estimated at this many microseconds or more (see {@link Costs}) take a slot. */
    static final long COSTLY_MICROS = 1_000;

    /** The longest a check waits for a slot: with a hash of up to 2 s, inside Postfix's 10 s. */
    static final Duration MAX_WAIT = Duration.ofSeconds(4);

    /** {@link #MAX_WAIT}, shorter in tests. */
    static volatile Duration maxWait = MAX_WAIT;

    private static volatile Semaphore slots = new Semaphore(Runtime.getRuntime().availableProcessors(), true);

    private CostlyChecks() {}

    /** Sets how many costly checks may run at once; call before serving. */
    public static void limit(int atOnce) {
        if (atOnce < 1) {
            throw new IllegalArgumentException("at least one costly check must be allowed");
        }
        slots = new Semaphore(atOnce, true);
    }

    /** Slots free now (for tests). */
    static int available() {
        return slots.availablePermits();
    }

    /**
     * Runs {@code check}, in a slot when it is costly; slots are taken in arrival order.
     *
     * @throws Overloaded when no slot came free within {@link #maxWait}: the login gets a
     *     temporary failure rather than an answer after Postfix has stopped waiting
     */
    static boolean matches(Scheme.Check check, byte[] password) {
        if (check.cost() < COSTLY_MICROS) {
            return check.matches(password);
        }
        Semaphore s = slots;
        boolean got;
        try {
            got = s.tryAcquire(maxWait.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Overloaded();
        }
        if (!got) {
            throw new Overloaded();
        }
        try {
            return check.matches(password);
        } finally {
            s.release();
        }
    }

    /** No slot for a costly check came free in time: a temporary failure, never a wrong password. */
    public static final class Overloaded extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public Overloaded() {
            super("no slot for a slow password hash in time", null, false, false);
        }
    }
}
