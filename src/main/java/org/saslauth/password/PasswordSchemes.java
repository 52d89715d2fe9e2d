package org.saslauth.password;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import org.apache.commons.codec.digest.Crypt;

/**
 * Dovecot's password schemes ({@code doveadm pw -l}): parsing the {@code {SCHEME}data} field of
 * a passwd-file line, and making new hashes for {@code saslauth hash}.
 */
public final class PasswordSchemes {

    /** What {@code saslauth hash} makes unless told otherwise, as {@code doveadm pw} does. */
    public static final String DEFAULT = "SHA512-CRYPT";

    private PasswordSchemes() {}

    /**
     * Parses a stored password. A field without {@code {SCHEME}} is CRYPT, as in Dovecot.
     *
     * @throws IllegalArgumentException for an unknown scheme or data the scheme cannot hold;
     *     the message says which, never the data itself
     */
    public static PasswordHash parse(String field) {
        String scheme = "CRYPT";
        String data = field;
        if (field.startsWith("{")) {
            int close = field.indexOf('}');
            if (close < 0) {
                throw new IllegalArgumentException("'{' without '}' in password field");
            }
            scheme = field.substring(1, close).toUpperCase(Locale.ROOT);
            data = field.substring(close + 1);
        }
        return switch (scheme) {
            case "PLAIN", "CLEAR", "CLEARTEXT" -> plain(scheme, data);
            case "SHA512-CRYPT", "SHA256-CRYPT", "CRYPT" -> crypt(scheme, data);
            default -> throw new IllegalArgumentException("unknown password scheme {" + scheme + "}");
        };
    }

    /** The schemes {@link #hash} can make. */
    public static List<String> hashable() {
        return List.of("SHA512-CRYPT", "SHA256-CRYPT", "PLAIN", "CLEAR", "CLEARTEXT");
    }

    /**
     * A new hash of {@code password}, written as it goes after the colon of a passwd-file line,
     * with the {@code {SCHEME}} prefix.
     *
     * @throws IllegalArgumentException for a scheme {@link #hashable()} does not list, or rounds
     *     out of the scheme's range
     */
    public static String hash(String scheme, byte[] password, OptionalInt rounds) {
        String s = scheme.toUpperCase(Locale.ROOT);
        return switch (s) {
            case "SHA512-CRYPT" -> "{" + s + "}" + Crypt.crypt(password, "$6$" + roundsPrefix(rounds) + salt(16));
            case "SHA256-CRYPT" -> "{" + s + "}" + Crypt.crypt(password, "$5$" + roundsPrefix(rounds) + salt(16));
            case "PLAIN", "CLEAR", "CLEARTEXT" -> "{" + s + "}" + new String(password, StandardCharsets.UTF_8);
            default -> throw new IllegalArgumentException("cannot make {" + s + "} hashes (can: "
                    + String.join(", ", hashable()) + ")");
        };
    }

    private static String roundsPrefix(OptionalInt rounds) {
        if (rounds.isEmpty()) {
            return "";
        }
        int r = rounds.getAsInt();
        if (r < 1000 || r > 999_999_999) {
            throw new IllegalArgumentException("rounds must be between 1000 and 999999999");
        }
        return "rounds=" + r + "$";
    }

    private static final char[] SALT_CHARS =
            "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();

    private static String salt(int length) {
        SecureRandom random = new SecureRandom();
        char[] salt = new char[length];
        for (int i = 0; i < length; i++) {
            salt[i] = SALT_CHARS[random.nextInt(SALT_CHARS.length)];
        }
        return new String(salt);
    }

    private static PasswordHash plain(String scheme, String data) {
        byte[] stored = data.getBytes(StandardCharsets.UTF_8);
        return new PasswordHash() {
            @Override
            public String scheme() {
                return scheme;
            }

            @Override
            public boolean matches(byte[] password) {
                return MessageDigest.isEqual(stored, password);
            }
        };
    }

    private static PasswordHash crypt(String scheme, String data) {
        boolean ok = switch (scheme) {
            case "SHA512-CRYPT" -> data.startsWith("$6$");
            case "SHA256-CRYPT" -> data.startsWith("$5$");
            default -> data.startsWith("$6$") || data.startsWith("$5$");
        };
        if (!ok) {
            throw new IllegalArgumentException("{" + scheme + "} data is not a crypt(3) hash this scheme supports");
        }
        byte[] stored = data.getBytes(StandardCharsets.US_ASCII);
        return new PasswordHash() {
            @Override
            public String scheme() {
                return scheme;
            }

            @Override
            public boolean matches(byte[] password) {
                String candidate;
                try {
                    candidate = Crypt.crypt(password, data);
                } catch (IllegalArgumentException e) {
                    return false;
                }
                return MessageDigest.isEqual(stored, candidate.getBytes(StandardCharsets.US_ASCII));
            }
        };
    }
}
