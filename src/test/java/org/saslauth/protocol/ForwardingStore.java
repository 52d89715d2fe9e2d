package org.saslauth.protocol;

import java.util.List;
import org.saslauth.Clock;
import org.saslauth.penalty.PenaltyPolicy;
import org.saslauth.penalty.PenaltyStore;

/**
 * A penalty store for the engine's tests: this process's memory store behind it, each method
 * handed on, so that a test overrides only what its store does otherwise (one that never saw a
 * ban, one that answers later).
 */
class ForwardingStore implements PenaltyStore {

    final PenaltyStore memory;

    ForwardingStore(PenaltyPolicy policy, Clock clock) {
        this.memory = PenaltyStore.memory(policy, clock);
    }

    @Override
    public boolean banned(String address) {
        return memory.banned(address);
    }

    @Override
    public boolean refusesUnchecked(String rip, String user, String network) {
        return memory.refusesUnchecked(rip, user, network);
    }

    @Override
    public Outcome record(Attempt attempt, boolean right) {
        return memory.record(attempt, right);
    }

    @Override
    public byte[] guessKey() {
        return memory.guessKey();
    }

    @Override
    public List<Ban> bans() {
        return memory.bans();
    }

    @Override
    public List<Protection> protections() {
        return memory.protections();
    }

    @Override
    public boolean clearAddress(String address) {
        return memory.clearAddress(address);
    }

    @Override
    public boolean clearUser(String user) {
        return memory.clearUser(user);
    }

    @Override
    public String describe() {
        return "test";
    }

    @Override
    public void close() {
        memory.close();
    }
}
