package org.saslauth.store;

import static org.saslauth.Log.LOG;

import java.util.Optional;
import org.saslauth.Log;
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

    /**
     * The stored password of {@code user}, or empty (and logged) when there is none or it cannot
     * be read.
     *
     * @param value the stored value, or null
     * @param what what holds it, for the log: "password", or the directory's attribute
     * @param where "database" or "directory", for the log
     */
    static Optional<PasswordHash> read(String value, String user, String defaultScheme, String what, String where) {
        if (value == null || value.isEmpty()) {
            LOG.warn("user {} has no {} in the {}", Log.quote(user), what, where);
            return Optional.empty();
        }
        try {
            return Optional.of(parse(value, user, defaultScheme));
        } catch (IllegalArgumentException e) {
            LOG.error("user {}: the stored {} cannot be used: {}", Log.quote(user), what, e.getMessage());
            return Optional.empty();
        }
    }

    /** Checks at start that a default scheme is one that can be read. */
    static void checkScheme(String scheme) throws InvalidStoreConfig {
        Optional<String> unknown = PasswordSchemes.unknown(scheme);
        if (unknown.isPresent()) {
            throw new InvalidStoreConfig("default-pass-scheme: " + unknown.get());
        }
    }
}
