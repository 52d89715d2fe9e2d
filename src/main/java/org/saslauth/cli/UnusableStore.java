package org.saslauth.cli;

import org.saslauth.Deadline;
import org.saslauth.password.CostlyChecks;
import org.saslauth.store.CredentialStore;

/**
 * The passdb of a serving command whose configuration cannot be used: every login is a
 * temporary failure ({@code code=temp_fail}), never an OK and never a wrong password, so that
 * Postfix keeps greeting and refuses only AUTH, with a 4xx the client retries. The reason is
 * logged once at start, not per login.
 */
final class UnusableStore implements CredentialStore {

    @Override
    public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
        return Verdict.UNAVAILABLE;
    }

    @Override
    public Lookup lookup(String user, Deadline deadline) {
        return new Lookup.Unavailable();
    }
}
