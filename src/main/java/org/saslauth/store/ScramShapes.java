package org.saslauth.store;

import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.saslauth.password.PasswordHash;
import org.saslauth.password.ScramHash;
import org.saslauth.password.ScramSalt;
import org.saslauth.password.ScramSecret;
import org.saslauth.password.ScramShape;

/**
 * How many entries that serve SCRAM there are of each kind, and what the usual one for a hash
 * is: what {@link CredentialStore#scramShape} answers. Not thread-safe.
 */
final class ScramShapes {

    /** How an entry serves SCRAM. */
    sealed interface Kind {}

    /**
     * It holds the keys for {@code hash}, with this many iterations and salt bytes. A map's key
     * as a helper reads its passwd file: its own equals and hashCode, since a record's are
     * bootstrapped through method handles at their first call (some 40 ms of a helper's start
     * on Java 17, before the handshake).
     */
    record Keys(ScramHash hash, int iterations, int saltBytes) implements Kind {
        @Override
        public boolean equals(Object o) {
            return o instanceof Keys k && k.hash == hash && k.iterations == iterations && k.saltBytes == saltBytes;
        }

        @Override
        public int hashCode() {
            return (hash.ordinal() * 31 + iterations) * 31 + saltBytes;
        }
    }

    /** It holds the password, from which the keys of every hash are derived at the proof. */
    record Password() implements Kind {
        static final Password INSTANCE = new Password();
    }

    private final Map<Keys, Integer> keys = new HashMap<>();
    private int passwords;

    /** How {@code stored} serves SCRAM, or empty when it cannot (a one-way hash, CRAM-MD5). */
    static Optional<Kind> of(PasswordHash stored) {
        Optional<ScramSecret> secret = stored.scram();
        if (secret.isEmpty()) {
            return Optional.empty();
        }
        for (ScramHash hash : ScramHash.values()) {
            Optional<ScramSalt> own = secret.get().ownSalt(hash);
            if (own.isPresent()) {
                return Optional.of(new Keys(hash, own.get().iterations(), own.get().salt().length));
            }
        }
        return Optional.of(Password.INSTANCE);
    }

    void add(Kind kind) {
        if (kind instanceof Keys k) {
            Integer n = keys.get(k);
            keys.put(k, n == null ? 1 : n + 1);
        } else {
            passwords++;
        }
    }

    void remove(Kind kind) {
        if (kind instanceof Keys k) {
            Integer n = keys.get(k);
            if (n == null) {
                return;
            }
            if (n == 1) {
                keys.remove(k);
            } else {
                keys.put(k, n - 1);
            }
        } else if (passwords > 0) {
            passwords--;
        }
    }

    /**
     * The usual entry that serves {@code hash}: the iterations and salt length most entries
     * with keys for it have (among as many, more iterations, then the longer salt; 4096 and 16
     * bytes when none has), and whether entries that hold the password are at least as many as
     * those, so that a proof derives the keys.
     */
    ScramShape mostCommon(ScramHash hash) {
        Keys best = null;
        int most = 0;
        int withKeys = 0;
        for (Map.Entry<Keys, Integer> e : keys.entrySet()) {
            Keys k = e.getKey();
            int n = e.getValue();
            if (k.hash() != hash) {
                continue;
            }
            withKeys += n;
            if (best == null || n > most || (n == most && (k.iterations() > best.iterations()
                    || (k.iterations() == best.iterations() && k.saltBytes() > best.saltBytes())))) {
                best = k;
                most = n;
            }
        }
        boolean derived = passwords >= withKeys;
        return best == null ? new ScramShape(ScramShape.DEFAULT.iterations(), ScramShape.DEFAULT.saltBytes(), derived)
                : new ScramShape(best.iterations(), best.saltBytes(), derived);
    }

    /** {@link #mostCommon} of every hash, to keep. */
    Map<ScramHash, ScramShape> mostCommon() {
        Map<ScramHash, ScramShape> out = new EnumMap<>(ScramHash.class);
        for (ScramHash hash : ScramHash.values()) {
            out.put(hash, mostCommon(hash));
        }
        return out;
    }
}
