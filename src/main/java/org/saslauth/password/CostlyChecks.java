package org.saslauth.password;

import java.util.concurrent.Semaphore;

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

    /** Runs {@code check}, in a slot when it is costly; slots are taken in arrival order. */
    static boolean matches(Scheme.Check check, byte[] password) {
        if (check.cost() < COSTLY_MICROS) {
            return check.matches(password);
        }
        Semaphore s = slots;
        s.acquireUninterruptibly();
        try {
            return check.matches(password);
        } finally {
            s.release();
        }
    }
}
