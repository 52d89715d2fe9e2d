package org.saslauth;

/**
 * What every package must agree on about characters from clients and files, and how an error
 * reading a file is put in words. No logger here: the start-up path reads the config file before
 * logging is configured.
 */
public final class Text {

    private Text() {}

    /**
     * Whether {@code c} is a control character: C0 (NUL, TAB, CR, LF, {@code \001}...), DEL, C1,
     * or the Unicode line and paragraph separators. No user name may hold one, and none reaches
     * the log unescaped, so that no value can forge a field or a line.
     */
    public static boolean isControl(int c) {
        return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\u2028' || c == '\u2029';
    }

    /**
     * An I/O error as a log line or message names it: the usual ones in words, the rest by
     * class and message (which names a path, never a file's content).
     */
    public static String describe(java.io.IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.nio.charset.MalformedInputException) {
            return "not UTF-8";
        }
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }

    /**
     * {@code bytes} as UTF-8, strictly: a malformed sequence is an error, never a replacement
     * character that could make two names one.
     */
    public static String utf8(byte[] bytes) throws java.nio.charset.CharacterCodingException {
        return java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                .decode(java.nio.ByteBuffer.wrap(bytes))
                .toString();
    }
}
