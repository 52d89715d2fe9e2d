package org.saslauth.penalty;

import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.Consumer;
import org.saslauth.Clock;

/**
 * Where the failures, bans, protections and known networks of logins are counted: in this
 * process ({@link #memory}) or in Redis, shared by every helper, daemon and host pointing at it.
 * Everything kept expires by itself. Neither a password nor a plain digest of one is kept:
 * a guess is a short keyed fingerprint ({@link #guessKey}).
 *
 * <p>The engine asks twice per login, and only the second may cost a round trip: before the
 * password is checked, whether what is known here refuses it already ({@link #banned}, {@link
 * #refusesUnchecked}); after, with the result, what to answer ({@link #record}), which the
 * Redis store answers later, on its own thread, for many logins in one round trip.
 */
public interface PenaltyStore extends AutoCloseable {

    /**
     * One finished login as the store counts it.
     *
     * @param rip the address as the client sent it, for the log
     * @param address the client as the penalty counts it ({@code ClientAddress.key})
     * @param network the /24 (IPv4) or prefix (IPv6) of {@code address}
     * @param user the canonical user name
     * @param guess the fingerprint of the password tried, when there was one and it was wrong
     */
    record Attempt(String rip, String address, String network, String user, OptionalInt guess) {}

    /** What a login's answer becomes. */
    enum Verdict {
        /** As the password check said. */
        AS_CHECKED,
        /** Refused: the address is banned. */
        BANNED,
        /** Refused: the user is protected and the address is not of a network known for it. */
        PROTECTED
    }

    /**
     * @param slowed the address's /24 holds {@link PenaltyPolicy#prefixBans} bans: its FAIL waits
     *     the longest delay
     */
    record Outcome(Verdict verdict, boolean slowed) {
        static final Outcome CHECKED = new Outcome(Verdict.AS_CHECKED, false);
    }

    /** A banned address, for {@code saslauth penalty list}. */
    record Ban(String address, Duration left, long nth) {}

    /** A protected user, for {@code saslauth penalty list}. */
    record Protection(String user, Duration left, long addresses) {}

    /** Whether {@code address} is banned as far as this process knows, without asking anyone. */
    boolean banned(String address);

    /**
     * Whether a login of {@code user} from {@code network} ({@code rip} as the client sent it) is refused as far as this process
     * knows, without asking anyone: the user is protected and the network not known for it.
     */
    boolean refusesUnchecked(String rip, String user, String network);

    /** Records a login whose password was checked ({@code right}: it was right); what to answer. */
    Outcome record(Attempt attempt, boolean right);

    /**
     * {@link #record}, its outcome handed to {@code then} exactly once: here and now (the memory
     * store), or once Redis answered, on the store's own thread (the Redis store), so that the
     * caller does not wait for a round trip.
     */
    default void record(Attempt attempt, boolean right, Consumer<Outcome> then) {
        then.accept(record(attempt, right));
    }

    /** Whether {@link #record(Attempt, boolean, Consumer)} may answer later, on another thread. */
    default boolean answersLater() {
        return false;
    }

    /** The key guess fingerprints are made with: the same for every process sharing the store. */
    byte[] guessKey();

    List<Ban> bans();

    List<Protection> protections();

    /** Lifts the ban of {@code address} and forgets its failures; whether there was anything. */
    boolean clearAddress(String address);

    /** Lifts the protection of {@code user} and forgets its failures; whether there was anything. */
    boolean clearUser(String user);

    /**
     * Gets ready for the first login without holding anything up: the Redis store connects and
     * loads its script on a thread of its own, so that the first AUTH does not wait for the
     * client's classes and a connection. Nothing to do for the memory store.
     */
    default void warm() {}

    /** What the store is, for the log: {@code memory}, {@code redis://host:6379/0}. */
    String describe();

    @Override
    void close();

    /** Counts in this process alone, on {@code clock}. */
    static PenaltyStore memory(PenaltyPolicy policy, Clock clock) {
        return new MemoryStore(policy, clock);
    }

    /** Opens a store for a clock: the engine's, so that tests move it by hand. */
    @FunctionalInterface
    interface Opener {
        PenaltyStore open(Clock clock);

        /** The memory store with the default thresholds. */
        Opener MEMORY = new Memory(PenaltyPolicy.DEFAULTS);
    }

    /** Opens the memory store (a class, not a lambda: a lambda spins method handles before the handshake). */
    record Memory(PenaltyPolicy policy) implements Opener {
        @Override
        public PenaltyStore open(Clock clock) {
            return memory(policy, clock);
        }
    }
}
