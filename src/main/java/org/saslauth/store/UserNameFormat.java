package org.saslauth.store;

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
        return lowercase ? asciiLowerCase(n) : n;
    }

    /**
     * A-Z to a-z and nothing else, as Dovecot's {@code %Lu} does: Java's full case mapping would
     * also turn the Kelvin sign (U+212A) into {@code k} and the dotted I (U+0130) into
     * {@code i}, so that those names would log in as ASCII users.
     */
    static String asciiLowerCase(String name) {
        char[] chars = null;
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                if (chars == null) {
                    chars = name.toCharArray();
                }
                chars[i] = (char) (c + ('a' - 'A'));
            }
        }
        return chars == null ? name : new String(chars);
    }
}
