package org.saslauth.e2e;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The smallest SMTP client that can drive smtpd through AUTH and DATA (RFC 5321, RFC 4954):
 * one command, one reply, every read bounded by a timeout. No pipelining, no TLS.
 */
final class SmtpClient implements Closeable {

    /** One SMTP reply: its code, its lines without the code, and how long it took to arrive. */
    record Reply(int code, List<String> lines, Duration elapsed) {

        String text() {
            return String.join(" | ", lines);
        }

        @Override
        public String toString() {
            return code + " " + text() + " (" + elapsed.toMillis() + " ms)";
        }
    }

    private static final int MAX_LINE = 4096;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final Reply greeting;

    SmtpClient(int port, Duration timeout) throws IOException {
        socket = new Socket();
        try {
            socket.connect(new InetSocketAddress("127.0.0.1", port), (int) timeout.toMillis());
            socket.setSoTimeout((int) timeout.toMillis());
            in = socket.getInputStream();
            out = socket.getOutputStream();
            greeting = read(System.nanoTime());
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    Reply greeting() {
        return greeting;
    }

    /** Sends one line (CRLF added) and reads the reply. */
    Reply send(String line) throws IOException {
        long start = System.nanoTime();
        out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        return read(start);
    }

    /** The words after {@code AUTH} in an EHLO reply, in the server's order; empty without AUTH. */
    static List<String> authMechanisms(Reply ehlo) {
        for (String line : ehlo.lines()) {
            if (line.startsWith("AUTH ")) {
                return List.of(line.substring(5).trim().split(" +"));
            }
        }
        return List.of();
    }

    /** {@code AUTH PLAIN}'s message: authzid NUL authcid NUL password, in base64. */
    static String plain(String user, String password) {
        return base64("\0" + user + "\0" + password);
    }

    static String base64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    static String unbase64(String text) {
        return new String(Base64.getDecoder().decode(text.trim()), StandardCharsets.UTF_8);
    }

    private Reply read(long start) throws IOException {
        List<String> lines = new ArrayList<>();
        int code;
        while (true) {
            String line = readLine();
            if (line.length() < 3) {
                throw new IOException("malformed SMTP reply line: '" + line + "'");
            }
            code = Integer.parseInt(line.substring(0, 3));
            lines.add(line.length() > 4 ? line.substring(4) : "");
            if (line.length() == 3 || line.charAt(3) == ' ') {
                break;
            }
        }
        return new Reply(code, List.copyOf(lines), Duration.ofNanos(System.nanoTime() - start));
    }

    private String readLine() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != '\n') {
            if (b < 0) {
                throw new IOException("connection closed by the server after '" + line + "'");
            }
            if (line.size() >= MAX_LINE) {
                throw new IOException("SMTP reply line too long");
            }
            line.write(b);
        }
        String s = line.toString(StandardCharsets.UTF_8);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
