package org.saslauth.password;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import org.saslauth.Log;

/**
 * Dovecot's password schemes ({@code doveadm pw -l}): parsing the {@code {SCHEME}data} field of
 * a passwd-file line, and making new hashes for {@code saslauth hash}.
 *
 * <p>A scheme name may end in {@code .b64}, {@code .base64} or {@code .hex} to say how the data
 * is encoded ({@code {SHA256.hex}}); otherwise each scheme has its default, and a fixed-length
 * digest written without a suffix is read as hex when it has exactly the hex length and as
 * base64 otherwise, as Dovecot's {@code password_decode()} does.
 */
public final class PasswordSchemes {

    /** What {@code saslauth hash} makes unless told otherwise, as {@code doveadm pw} does. */
    public static final String DEFAULT = "SHA512-CRYPT";

    private PasswordSchemes() {}

    /** {@link #parse(String, String)} for a line whose user name does not matter. */
    public static PasswordHash parse(String field) {
        return parse(field, null);
    }

    /**
     * Parses a stored password. A field without {@code {SCHEME}} is CRYPT, as in Dovecot.
     *
     * @param user the user name of the line; DIGEST-MD5 hashes it in, others ignore it
     * @throws IllegalArgumentException for an unknown scheme or data the scheme cannot hold;
     *     the message says which, never the data itself
     */
    public static PasswordHash parse(String field, String user) {
        String name = "CRYPT";
        String data = field;
        if (field.startsWith("{")) {
            int close = field.indexOf('}');
            if (close < 0) {
                throw new IllegalArgumentException("'{' without '}' in password field");
            }
            name = field.substring(1, close).toUpperCase(Locale.ROOT);
            data = field.substring(close + 1);
        }
        Named named = Named.of(name);
        byte[] raw;
        if (named.suffix.isEmpty() && named.scheme.rawLength() > 0) {
            raw = guess(data, named.scheme.rawLength());
        } else {
            try {
                raw = named.suffix.orElse(named.scheme.encoding()).decode(data);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("{" + name + "} " + e.getMessage());
            }
        }
        int expected = named.scheme.rawLength();
        if (expected > 0 && raw.length != expected) {
            throw new IllegalArgumentException("{" + name + "} data is " + raw.length + " bytes, not "
                    + expected);
        }
        Scheme.Check check = named.scheme.check(raw, Optional.ofNullable(user));
        return new Parsed(named.base, check);
    }

    /**
     * Why {@code scheme}, a name as it goes between the braces ({@code SHA512-CRYPT},
     * {@code SHA256.hex}), is not one {@link #parse} reads, or empty when it is.
     */
    public static Optional<String> unknown(String scheme) {
        try {
            Named.of(scheme.toUpperCase(Locale.ROOT));
            return Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.of(e.getMessage());
        }
    }

    /** Hex when the length is exactly that of hex, else base64; undecodable data is caught by length. */
    private static byte[] guess(String data, int rawLength) {
        if (data.length() == 2 * rawLength) {
            try {
                return Encoding.HEX.decode(data);
            } catch (IllegalArgumentException e) {
                // not hex after all: read as base64 like any other length; base64 of this length
                // never decodes to rawLength bytes, so the caller's length check refuses it
            }
        }
        try {
            return Encoding.BASE64.decode(data);
        } catch (IllegalArgumentException e) {
            return new byte[0];
        }
    }

    /**
     * An {@code {ARGON2ID}} hash at a memory cost of {@code memoryKiB} and {@code passes}, for a
     * password generated with so much entropy that stretching it buys nothing (an app password):
     * {@link #hash} makes doveadm's default cost, 64 MiB and 3 passes, for passwords people choose.
     */
    public static String argon2id(byte[] password, int memoryKiB, int passes) {
        byte[] raw = new Argon2("ARGON2ID", "argon2id", passes, memoryKiB, 1)
                .generate(password, new Scheme.Params(OptionalInt.empty(), Optional.empty()));
        try {
            return "{ARGON2ID}" + new String(raw, StandardCharsets.US_ASCII);
        } finally {
            Arrays.fill(raw, (byte) 0);
        }
    }

    /** The schemes {@link #hash} can make. */
    public static List<String> hashable() {
        return SchemeNames.HASHABLE;
    }

    /** {@link #hash(String, byte[], OptionalInt, Optional)} without a user name. */
    public static String hash(String scheme, byte[] password, OptionalInt rounds) {
        return hash(scheme, password, rounds, Optional.empty());
    }

    /**
     * A new hash of {@code password}, written as it goes after the colon of a passwd-file line,
     * with the {@code {SCHEME}} prefix; a suffix such as {@code .b64} picks the encoding.
     *
     * @param rounds rounds or cost where the scheme has one: SHA256/512-CRYPT rounds, bcrypt
     *     cost, PBKDF2 rounds, SCRAM iterations, Argon2 passes
     * @param user the user name, which DIGEST-MD5 needs
     * @throws IllegalArgumentException for a scheme {@link #hashable()} does not list, rounds
     *     out of the scheme's range, a missing user, or a result a passwd-file field cannot hold
     */
    public static String hash(String scheme, byte[] password, OptionalInt rounds, Optional<String> user) {
        String name = scheme.toUpperCase(Locale.ROOT);
        Named named;
        try {
            named = Named.of(name);
        } catch (IllegalArgumentException e) {
            named = null;
        }
        if (named != null && named.scheme == Plaintext.Truncated.INSTANCE) {
            throw new IllegalArgumentException(Plaintext.Truncated.NOT_MADE);
        }
        if (named == null || !SchemeNames.HASHABLE.contains(named.base)) {
            throw new IllegalArgumentException("cannot make {" + name + "} hashes (can: "
                    + String.join(", ", hashable()) + ")");
        }
        byte[] raw = named.scheme.generate(password, new Scheme.Params(rounds, user));
        try {
            Encoding encoding = named.suffix.orElse(named.scheme.encoding());
            if (encoding == Encoding.NONE && !fitsField(raw)) {
                throw new IllegalArgumentException("{" + named.base + "} would hold ':', a line break or"
                        + " bytes that are not UTF-8, which a passwd-file field cannot; use {"
                        + named.base + ".B64}");
            }
            return "{" + name + "}" + encoding.encode(raw);
        } finally {
            Arrays.fill(raw, (byte) 0);
        }
    }

    private static boolean fitsField(byte[] raw) {
        for (byte b : raw) {
            if (b == ':' || b == '\n' || b == '\r' || b == 0) {
                return false;
            }
        }
        try {
            StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(raw));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    /** A scheme name split into the scheme and its encoding suffix. */
    private static final class Named {
        final String base;
        final Scheme scheme;
        final Optional<Encoding> suffix;

        private Named(String base, Scheme scheme, Optional<Encoding> suffix) {
            this.base = base;
            this.scheme = scheme;
            this.suffix = suffix;
        }

        static Named of(String name) {
            int dot = name.indexOf('.');
            String base = dot < 0 ? name : name.substring(0, dot);
            Optional<Encoding> suffix = dot < 0 ? Optional.empty() : Encoding.ofSuffix(name.substring(dot + 1));
            Optional<Scheme> scheme = SchemeNames.lookup(base);
            if (scheme.isEmpty() || (dot >= 0 && suffix.isEmpty())) {
                // quoted: the name comes from a stored value, which a user may set (an LDAP password)
                throw new IllegalArgumentException("unknown password scheme " + Log.quote("{" + name + "}", 64));
            }
            return new Named(base, scheme.get(), suffix);
        }
    }

    private record Parsed(String scheme, Scheme.Check check) implements PasswordHash {
        @Override
        public boolean matches(byte[] password) {
            return check.matches(password);
        }

        @Override
        public Optional<CramMd5Secret> cramMd5() {
            return check instanceof CramMd5Secret c ? Optional.of(c) : Optional.empty();
        }

        @Override
        public Optional<ScramSecret> scram() {
            return check instanceof ScramSecret c ? Optional.of(c) : Optional.empty();
        }

        @Override
        public long cost() {
            return check.cost();
        }
    }
}
