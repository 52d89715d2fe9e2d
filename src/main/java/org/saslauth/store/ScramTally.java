package org.saslauth.store;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.saslauth.password.PasswordHash;
import org.saslauth.password.ScramHash;
import org.saslauth.password.ScramShape;

/**
 * The entries that serve SCRAM which a store that cannot be listed (SQL, LDAP) was seen to hold,
 * for {@link CredentialStore#scramShape}: each user counts once, with the entry last read for it
 * (so that asking again and again for one user does not outweigh the others, and a user whose
 * entry was made again counts with the new one), for the {@link #USERS} users read last. Until
 * one has been read, the answer is {@link ScramShape#DEFAULT}.
 */
final class ScramTally {

    /** Users remembered at most: some 100 bytes each. */
    static final int USERS = 10_000;

    /** The process's, which the SQL and LDAP stores share. */
    static final ScramTally PROCESS = new ScramTally(USERS);

    private final ScramShapes shapes = new ScramShapes();
    private final Map<String, ScramShapes.Kind> users;

    ScramTally(int size) {
        this.users = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, ScramShapes.Kind> eldest) {
                if (size() > size) {
                    shapes.remove(eldest.getValue());
                    return true;
                }
                return false;
            }
        };
    }

    /** The entry read for {@code user}; empty when there is none (an unknown user, or one that cannot be read). */
    void saw(String user, Optional<PasswordHash> stored) {
        Optional<ScramShapes.Kind> kind = stored.flatMap(ScramShapes::of);
        synchronized (this) {
            ScramShapes.Kind before = kind.isPresent() ? users.put(user, kind.get()) : users.remove(user);
            if (before != null) {
                shapes.remove(before);
            }
            if (kind.isPresent()) {
                shapes.add(kind.get());
            }
        }
    }

    synchronized ScramShape mostCommon(ScramHash hash) {
        return shapes.mostCommon(hash);
    }
}
