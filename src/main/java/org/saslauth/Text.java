package org.saslauth;

/** What every package must agree on about characters from clients and files. */
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
}
