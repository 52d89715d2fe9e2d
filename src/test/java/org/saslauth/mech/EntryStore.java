package org.saslauth.mech;

import java.util.HashMap;
import java.util.Map;
import org.saslauth.Deadline;
import org.saslauth.password.CostlyChecks;
import org.saslauth.password.PasswordHash;
import org.saslauth.password.PasswordSchemes;
import org.saslauth.store.CredentialStore;

/** A store of passwd-file entries ({@code {SCHEME}data}) by user, parsed as the passwd file does. */
final class EntryStore implements CredentialStore {
    private final Map<String, PasswordHash> users = new HashMap<>();

    EntryStore with(String user, String field) {
        users.put(user, PasswordSchemes.parse(field, user));
        return this;
    }

    @Override
    public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
        PasswordHash h = users.get(user);
        return h == null ? Verdict.UNKNOWN_USER : h.matches(password) ? Verdict.ACCEPTED : Verdict.WRONG_PASSWORD;
    }

    @Override
    public Lookup lookup(String user, Deadline deadline) {
        PasswordHash h = users.get(user);
        return h == null ? new Lookup.UnknownUser() : new Lookup.Found(h);
    }

    /** A store whose server is down: every check and lookup is unavailable. */
    static final CredentialStore DOWN = new CredentialStore() {
        @Override
        public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
            return Verdict.UNAVAILABLE;
        }

        @Override
        public Lookup lookup(String user, Deadline deadline) {
            return new Lookup.Unavailable();
        }
    };
}
