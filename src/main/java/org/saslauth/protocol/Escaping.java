package org.saslauth.protocol;

/**
 * Dovecot's tab-escaping ({@code src/lib/strescape.c}): {@code \001} starts an escape, so that a
 * value can hold TAB, CR, LF and NUL without breaking the line into fields. Backslash is not
 * escaped.
 *
 * <pre>
 * \001 -> \0011    TAB -> \001t    CR -> \001r    LF -> \001n    NUL -> \0010
 * </pre>
 */
public final class Escaping {

    private Escaping() {}

    public static String escape(String value) {
        StringBuilder out = null;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            char code = switch (c) {
                case '\001' -> '1';
                case '\t' -> 't';
                case '\r' -> 'r';
                case '\n' -> 'n';
                case '\0' -> '0';
                default -> 0;
            };
            if (code == 0) {
                if (out != null) {
                    out.append(c);
                }
                continue;
            }
            if (out == null) {
                out = new StringBuilder(value.length() + 8).append(value, 0, i);
            }
            out.append('\001').append(code);
        }
        return out == null ? value : out.toString();
    }

    /** Undoes {@link #escape}. An unknown escape keeps the character after {@code \001}, as Dovecot does. */
    public static String unescape(String value) {
        int at = value.indexOf('\001');
        if (at < 0) {
            return value;
        }
        StringBuilder out = new StringBuilder(value.length()).append(value, 0, at);
        for (int i = at; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c != '\001') {
                out.append(c);
                continue;
            }
            if (++i == value.length()) {
                break;
            }
            char code = value.charAt(i);
            out.append(switch (code) {
                case '1' -> '\001';
                case 't' -> '\t';
                case 'r' -> '\r';
                case 'n' -> '\n';
                case '0' -> '\0';
                default -> code;
            });
        }
        return out.toString();
    }
}
