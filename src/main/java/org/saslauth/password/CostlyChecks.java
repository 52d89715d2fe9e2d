package org.saslauth.password;

import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.saslauth.Deadline;

/**
 * How many costly password checks (SHA-crypt, MD5-crypt, bcrypt, Argon2, PBKDF2 and SCRAM
 * entries checked against a plaintext password) run at once in the process. The daemon runs its
 * checks on more threads than that, so that while every slot is busy with a slow hash, a
 * {PLAIN} or digest login on another connection still finds a thread and the CPU time it needs
 * at once, instead of queueing behind the hashes. One instance per process, made from the
 * workers option and handed to whatever checks passwords.
 */
public final class CostlyChecks {

    /** Checks estimated at this many microseconds or more (see {@link Costs}) take a slot. */
    static final long COSTLY_MICROS = 1_000;

    private final ReentrantLock lock = new ReentrantLock();
    /** Checks waiting for a slot, first come first served; guarded by {@link #lock}. */
    private final ArrayDeque<Waiter> waiting = new ArrayDeque<>();
    /** Slots nobody holds; guarded by {@link #lock}. */
    private int free;

    /** A check waiting for a slot; {@code granted} once a slot was handed to it. */
    private final class Waiter {
        final Condition turn = lock.newCondition();
        boolean granted;
    }

    /** Allows {@code atOnce} costly checks at a time. */
    public CostlyChecks(int atOnce) {
        if (atOnce < 1) {
            throw new IllegalArgumentException("at least one costly check must be allowed");
        }
        this.free = atOnce;
    }

    /** As many slots as processors: what a process with nobody setting a limit uses. */
    public static CostlyChecks perProcessor() {
        return new CostlyChecks(Runtime.getRuntime().availableProcessors());
    }

    /** Slots free now (for tests). */
    int available() {
        lock.lock();
        try {
            return free;
        } finally {
            lock.unlock();
        }
    }

    /** Checks waiting for a slot now (for tests). */
    int queued() {
        lock.lock();
        try {
            return waiting.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Checks {@code password} against {@code stored}, in a slot when the check is costly; slots
     * are taken in arrival order. A check waits for a slot until its estimated time before
     * {@code deadline}, so that the answer is not late; when even that has passed it answers
     * {@link Match#TOO_BUSY} at once, and the login gets a temporary failure rather than an
     * answer after Postfix has stopped waiting.
     */
    public Match check(PasswordHash stored, byte[] password, Deadline deadline) {
        return run(stored.cost(), stored::matches, password, deadline);
    }

    /** {@link #check} for a parsed entry of a scheme. */
    Match check(Scheme.Check check, byte[] password, Deadline deadline) {
        return run(check.cost(), check::matches, password, deadline);
    }

    private Match run(long cost, Scheme.Check check, byte[] password, Deadline deadline) {
        if (cost < COSTLY_MICROS) {
            return Match.of(check.matches(password));
        }
        if (!acquire(deadline.shortened(cost * 1_000))) {
            return Match.TOO_BUSY;
        }
        try {
            return Match.of(check.matches(password));
        } finally {
            release();
        }
    }

    /** Takes a slot before {@code by}; false when none came free by then. */
    private boolean acquire(Deadline by) {
        lock.lock();
        try {
            if (by.passed()) { // too late even with a slot free: it would only hold the slot
                return false;
            }
            if (waiting.isEmpty() && free > 0) {
                free--;
                return true;
            }
            Waiter w = new Waiter();
            waiting.addLast(w);
            try {
                by.await(nanos -> {
                    if (!w.granted && nanos > 0) {
                        w.turn.awaitNanos(nanos);
                    }
                    return w.granted;
                });
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (w.granted) {
                if (!Thread.currentThread().isInterrupted()) {
                    return true;
                }
                handOn();
            } else {
                waiting.remove(w);
            }
            return false;
        } finally {
            lock.unlock();
        }
    }

    private void release() {
        lock.lock();
        try {
            handOn();
        } finally {
            lock.unlock();
        }
    }

    /** Gives a slot to the first check waiting, or frees it; the caller holds {@link #lock}. */
    private void handOn() {
        Waiter next = waiting.pollFirst();
        if (next == null) {
            free++;
        } else {
            next.granted = true;
            next.turn.signal();
        }
    }
}
