package org.saslauth.password;

import java.util.Base64;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;

/**
 * How a scheme's raw bytes are written in the file: Dovecot's {@code PW_ENCODING_*}. A scheme has a
 * default, and a {@code .b64}, {@code .base64} or {@code .hex} suffix on its name overrides it, for
 * every scheme ({@code {PLAIN.b64}} is a base64-encoded plaintext).
 */
enum Encoding {
    NONE, HEX, BASE64;

    /** The encoding a scheme-name suffix asks for; empty for a suffix Dovecot does not know. */
    static Optional<Encoding> ofSuffix(String suffix) {
        switch (suffix.toLowerCase(Locale.ROOT)) {
            case "b64":
            case "base64":
                return Optional.of(BASE64);
            case "hex":
                return Optional.of(HEX);
            default:
                return Optional.empty();
        }
    }

    /** @throws IllegalArgumentException for data that is not in this encoding */
    byte[] decode(String data) {
        switch (this) {
            case HEX:
                if (data.length() % 2 != 0) {
                    throw new IllegalArgumentException("data is not hex (odd length)");
                }
                try {
                    return HexFormat.of().parseHex(data);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("data is not hex");
                }
            case BASE64:
                try {
                    return Base64.getDecoder().decode(data);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("data is not base64");
                }
            default:
                return data.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    String encode(byte[] raw) {
        switch (this) {
            case HEX:
                return HexFormat.of().formatHex(raw);
            case BASE64:
                return Base64.getEncoder().encodeToString(raw);
            default:
                return new String(raw, java.nio.charset.StandardCharsets.UTF_8);
        }
    }
}
