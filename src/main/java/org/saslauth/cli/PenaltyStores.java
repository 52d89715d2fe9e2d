package org.saslauth.cli;

import java.util.Optional;
import org.saslauth.penalty.PenaltyPolicy;
import org.saslauth.penalty.PenaltyStore;
import org.saslauth.penalty.RedisOpener;
import org.saslauth.penalty.RedisTarget;
import org.saslauth.store.InvalidStoreConfig;

/**
 * Makes the opener of a {@code redis://} penalty store. Apart from {@link Config}, as
 * {@link Passdbs} is, so that a helper counting in memory loads none of these classes.
 */
final class PenaltyStores {

    private PenaltyStores() {}

    static PenaltyStore.Opener redis(Options o, String url, PenaltyPolicy policy) throws StartupError {
        RedisTarget target;
        try {
            target = RedisTarget.parse(url);
        } catch (IllegalArgumentException e) {
            throw new StartupError(o.name(ServingOption.PENALTY_STORE) + ": " + e.getMessage());
        }
        Optional<String> password = Optional.empty();
        if (o.path(ServingOption.PENALTY_STORE_PASSWORD_FILE) != null) {
            try {
                password = Optional.of(Passdbs.secret(o.path(ServingOption.PENALTY_STORE_PASSWORD_FILE),
                        "penalty-store-password-file"));
            } catch (InvalidStoreConfig e) {
                throw new StartupError(e.getMessage());
            }
        }
        return new RedisOpener(target, password, policy);
    }
}
