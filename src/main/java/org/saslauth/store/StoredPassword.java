package org.saslauth.store;

import org.saslauth.password.PasswordHash;
import org.saslauth.password.PasswordSchemes;

/** A password as a database or directory stores it, read like a passwd-file field. */
final class StoredPassword {

    private StoredPassword() {}

    /**
     * Parses {@code {SCHEME}data}; a value without a scheme prefix is taken to be in
     * {@code defaultScheme}, like Dovecot's {@code default_pass_scheme}.
     *
     * @throws IllegalArgumentException with a reason that never holds the data
     */
    static PasswordHash parse(String value, String user, String defaultScheme) {
        if (value.startsWith("{") && value.indexOf('}') > 1) {
            return PasswordSchemes.parse(value, user);
        }
        return PasswordSchemes.parse("{" + defaultScheme + "}" + value, user);
    }

    /** Checks at start that a default scheme is one that can be read. */
    static void checkScheme(String scheme) throws InvalidStoreConfig {
        try {
            PasswordSchemes.parse("{" + scheme + "}x");
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("unknown password scheme")) {
                throw new InvalidStoreConfig("default-pass-scheme: " + e.getMessage());
            }
        }
    }
}
