package org.saslauth.store;

import java.util.Locale;
import java.util.Optional;

/**
 * How a user name sent by a client becomes the name looked up and reported, like Dovecot's
 * {@code auth_username_format} ({@code %u} or {@code %Lu}) and {@code auth_default_realm}.
 */
public final class UserNameFormat {

    /** Names used as sent. */
    public static final UserNameFormat AS_IS = new UserNameFormat(false, Optional.empty());

    private final boolean lowercase;
    private final Optional<String> defaultRealm;

    public UserNameFormat(boolean lowercase, Optional<String> defaultRealm) {
        this.lowercase = lowercase;
        this.defaultRealm = defaultRealm.filter(r -> !r.isEmpty());
    }

    public String apply(String name) {
        String n = name;
        if (defaultRealm.isPresent() && n.indexOf('@') < 0) {
            n = n + "@" + defaultRealm.get();
        }
        return lowercase ? n.toLowerCase(Locale.ROOT) : n;
    }
}
