package org.saslauth.cli;

import java.io.Console;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Reads a password for the admin commands: from the terminal without echo, or one line of stdin. */
final class PasswordInput {

    /** Longest password a login accepts; a longer line is read as MAX + 1 bytes. */
    static final int MAX = org.saslauth.mech.Credentials.MAX_PASSWORD_BYTES;

    private PasswordInput() {}

    /**
     * The password as UTF-8 bytes, which the caller wipes. Null when none was given (end of
     * input before any line); an empty line is the empty password. A line longer than
     * {@link #MAX} bytes comes back cut to {@code MAX + 1} bytes, for the caller to refuse as any
     * over-long password is refused; the rest of the line is read and dropped.
     */
    static byte[] read(InputStream stdin, String prompt) throws IOException {
        Console console = System.console();
        if (console != null && stdin == System.in) {
            char[] chars = console.readPassword("%s", prompt);
            if (chars == null) {
                return null;
            }
            ByteBuffer bb = StandardCharsets.UTF_8.encode(CharBuffer.wrap(chars));
            Arrays.fill(chars, '\0');
            byte[] out = Arrays.copyOf(bb.array(), Math.min(bb.limit(), MAX + 1));
            Arrays.fill(bb.array(), (byte) 0);
            return out;
        }
        byte[] buf = new byte[MAX + 2]; // room for a CR after the longest password
        int n = 0;
        long length = 0;
        int c = 0;
        while ((c = stdin.read()) >= 0 && c != '\n') {
            if (n < buf.length) {
                buf[n++] = (byte) c;
            }
            length++;
        }
        if (length == 0 && c < 0) {
            return null; // end of input before any line: no password, not an empty one
        }
        if (length <= buf.length && n > 0 && buf[n - 1] == '\r') {
            n--;
        }
        byte[] out = Arrays.copyOf(buf, Math.min(n, MAX + 1));
        Arrays.fill(buf, (byte) 0);
        return out;
    }

    static boolean interactive(InputStream stdin) {
        return System.console() != null && stdin == System.in;
    }
}
