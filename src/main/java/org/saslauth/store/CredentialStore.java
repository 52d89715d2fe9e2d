package org.saslauth.store;

import org.saslauth.Deadline;
import org.saslauth.password.CostlyChecks;
import org.saslauth.password.PasswordHash;
import org.saslauth.password.ScramHash;
import org.saslauth.password.ScramShape;

/**
 * Where users and their passwords live. Implementations must be safe to call from several
 * threads and must answer within a fraction of Postfix's 10-second reply limit.
 */
public interface CredentialStore extends AutoCloseable {

    /**
     * Checks a password. The password bytes belong to the caller, which wipes them; an
     * implementation must not keep them. An unknown user should take as long as a known one
     * (the passwd file checks the password against its costliest entry), so that the time of a
     * failure does not tell whether the user exists.
     *
     * @param slots the process's slots for slow hashes, which a check of a stored hash takes
     * @param deadline when the answer is due: a store answers {@link Verdict#UNAVAILABLE} or
     *     {@link Verdict#OVERLOADED} by then rather than a verdict after it
     */
    Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline);

    /**
     * {@link #verify}, with the name the store knows the user by: a store may hold a canonical
     * spelling of the name (an SQL query's {@code user} column), which the OK then carries.
     */
    default Checked check(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
        return new Checked(verify(user, password, slots, deadline), user);
    }

    /**
     * A {@link Verdict}, and the user's canonical name where the store gave one.
     *
     * @param detail what the log adds to a {@link Verdict#REFUSED} (which app password, and the
     *     rule that refused it); never a secret
     */
    record Checked(Verdict verdict, String user, java.util.Optional<String> detail) {
        public Checked(Verdict verdict, String user) {
            this(verdict, user, java.util.Optional.empty());
        }
    }

    /**
     * The stored password of a user, for mechanisms that need the secret itself or a key
     * derived from it (CRAM-MD5, SCRAM) instead of a password to check. A store that can only
     * check passwords (a checkpassword program, an LDAP bind) answers {@link Lookup.Unsupported}.
     * A lookup not answered by {@code deadline} is {@link Lookup.Unavailable}.
     */
    default Lookup lookup(String user, Deadline deadline) {
        return new Lookup.Unsupported();
    }

    /**
     * The iterations and salt length of this store's most common SCRAM entry for {@code hash},
     * which SCRAM shows users without keys of their own (unknown users, {@code {PLAIN}} entries,
     * one-way hashes), so that they read like the users with one; and whether entries that hold
     * the password are the usual ones, so that an unknown user's proof derives keys as theirs
     * does. {@link ScramShape#DEFAULT}, what Dovecot makes, for a store without such entries or
     * that cannot tell.
     */
    default ScramShape scramShape(ScramHash hash) {
        return ScramShape.DEFAULT;
    }

    /**
     * Looks at the users again now, as a daemon does on SIGHUP: a file is re-read if it changed,
     * a cache emptied. Nothing by default.
     */
    default void reload() {}

    /**
     * Lets go of what the store holds (a pool's connections, its worker threads) at the end of
     * serving, after the last reply. A store that holds nothing does nothing.
     */
    @Override
    default void close() {}

    /**
     * The answers a store can give; a mechanism turns them into a result. {@link #OVERLOADED}:
     * no slot for a slow hash came free before the deadline, which the log tells from a server
     * down ({@link #UNAVAILABLE}); both are temporary failures. {@link #REFUSED}: the password
     * was right, but a rule refuses it now (an app password expired, revoked, or used from
     * outside its networks; a main password where app passwords are required), which
     * {@link Checked#detail} says.
     */
    enum Verdict {
        ACCEPTED, WRONG_PASSWORD, UNKNOWN_USER, UNAVAILABLE, OVERLOADED, REFUSED
    }

    /** What {@link #lookup} found. */
    sealed interface Lookup {
        /** The user exists; {@code stored} is its entry, as a passwd-file line would hold it. */
        record Found(PasswordHash stored) implements Lookup {}

        record UnknownUser() implements Lookup {}

        /** The store could not answer now (a server down): a temporary failure. */
        record Unavailable() implements Lookup {}

        /** The store cannot hand out stored passwords. */
        record Unsupported() implements Lookup {}
    }

    /** A store that knows nobody, for servers that offer only mechanisms without passwords. */
    CredentialStore NONE = (user, password, slots, deadline) -> Verdict.UNKNOWN_USER;
}
