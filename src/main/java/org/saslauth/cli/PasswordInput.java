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

    static final int MAX = 4096;

    private PasswordInput() {}

    /**
     * The password as UTF-8 bytes, which the caller wipes. Null when none was given (end of
     * input before any line); an empty line is the empty password.
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
            byte[] out = Arrays.copyOf(bb.array(), bb.limit());
            Arrays.fill(bb.array(), (byte) 0);
            return out;
        }
        byte[] buf = new byte[MAX + 1];
        int n = 0;
        int c = 0;
        while (n <= MAX && (c = stdin.read()) >= 0 && c != '\n') {
            buf[n++] = (byte) c;
        }
        if (n == 0 && c < 0) {
            return null; // end of input before any line: no password, not an empty one
        }
        if (n > MAX) {
            Arrays.fill(buf, (byte) 0);
            throw new IOException("password longer than " + MAX + " bytes");
        }
        if (n > 0 && buf[n - 1] == '\r') {
            n--;
        }
        byte[] out = Arrays.copyOf(buf, n);
        Arrays.fill(buf, (byte) 0);
        return out;
    }

    static boolean interactive(InputStream stdin) {
        return System.console() != null && stdin == System.in;
    }
}
