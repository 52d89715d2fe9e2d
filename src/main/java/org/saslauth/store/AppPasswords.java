package org.saslauth.store;

import java.util.List;
import org.saslauth.Deadline;

/**
 * Where the app passwords of users are kept: a file ({@link AppPasswordFile}) or an SQL
 * database ({@link SqlStore#appPasswords}). Asked before the passdb by {@link AppPasswordStore}.
 */
public interface AppPasswords extends AutoCloseable {

    /** What {@link #of} found. */
    sealed interface Entries {
        /** The user's app passwords, revoked and expired ones included; empty for a user without. */
        record Found(List<AppPassword> passwords) implements Entries {}

        /** The backend could not answer in time (a file unreadable, a database down): a temporary failure. */
        record Unavailable() implements Entries {}
    }

    /** The app passwords of a canonical user name, answered by {@code deadline}. */
    Entries of(String user, Deadline deadline);

    /**
     * {@code password} just logged in from {@code address} (empty when unknown): a backend that can
     * record the last use does, by {@code deadline}; others do nothing. A failure here never
     * changes the login.
     */
    default void used(AppPassword password, String address, Deadline deadline) {}

    /** Looks again now, as a daemon does on SIGHUP. */
    default void reload() {}

    @Override
    default void close() {}
}
