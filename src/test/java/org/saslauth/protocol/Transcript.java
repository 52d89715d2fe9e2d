package org.saslauth.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Mechanisms;
import org.saslauth.store.PasswdFile;
import org.saslauth.store.UserNameFormat;

/**
 * One golden transcript under {@code src/test/resources/transcripts}: {@code C:} lines are fed to
 * the engine, {@code S:} lines are what it must answer, in order. In both, {@code \t} is TAB,
 * {@code \xNN} a byte and {@code \\} a backslash; an {@code S:} line ending in {@code *}
 * matches any rest of line; a {@code C!} line is sent without its LF (end of input follows).
 * {@code # mechanisms: ...}, {@code # max-pending: N}, {@code # username-format: lowercase} and
 * {@code # default-realm: D} set the server up, {@code # status: 4} is the spawn loop's exit
 * status; users come from {@code transcripts/users.passwd}. Read by the spawn loop's test and by
 * the daemon's, which must give the same replies.
 */
public final class Transcript {

    private static final Path DIR = Path.of("src/test/resources/transcripts");

    private final Path file;
    private final byte[] input;
    private final List<String> expected;
    private final Settings settings;
    private final int status;

    private Transcript(Path file, byte[] input, List<String> expected, Settings settings, int status) {
        this.file = file;
        this.input = input;
        this.expected = expected;
        this.settings = settings;
        this.status = status;
    }

    /** Every transcript, by name. */
    public static Stream<Path> all() throws IOException {
        return Files.list(DIR).filter(p -> p.toString().endsWith(".txt")).sorted();
    }

    public static Transcript load(Path file) throws IOException, PasswdFile.Invalid {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        ByteArrayOutputStream input = new ByteArrayOutputStream();
        List<String> expected = new ArrayList<>();
        String mechanisms = "PLAIN,LOGIN";
        int maxPending = 32;
        boolean lowercase = false;
        Optional<String> realm = Optional.empty();
        for (String line : lines) {
            if (line.startsWith("# mechanisms:")) {
                mechanisms = line.substring(13).strip();
            } else if (line.startsWith("# max-pending:")) {
                maxPending = Integer.parseInt(line.substring(14).strip());
            } else if (line.startsWith("# username-format: lowercase")) {
                lowercase = true;
            } else if (line.startsWith("# default-realm:")) {
                realm = Optional.of(line.substring(16).strip());
            } else if (line.startsWith("C: ")) {
                input.write(unescape(line.substring(3)));
                input.write('\n');
            } else if (line.startsWith("C! ")) { // a line sent without its LF (end of input)
                input.write(unescape(line.substring(3)));
            } else if (line.startsWith("S: ")) {
                expected.add(new String(unescape(line.substring(3)), StandardCharsets.ISO_8859_1));
            }
        }
        var store = PasswdFile.load(DIR.resolve("users.passwd"));
        var settings = new Settings(Mechanisms.parse(mechanisms),
                new Credentials(store, new UserNameFormat(lowercase, realm)), Duration.ZERO, maxPending);
        int status = lines.stream().anyMatch(l -> l.startsWith("# status: 4")) ? 4 : 0;
        return new Transcript(file, input.toByteArray(), expected, settings, status);
    }

    /** What the client sends, in one piece. */
    public byte[] input() {
        return input.clone();
    }

    public Settings settings() {
        return settings;
    }

    /** The spawn loop's exit status the transcript expects. */
    public int status() {
        return status;
    }

    /** Asserts that {@code output}, everything the server sent, is what the transcript says. */
    public void check(byte[] output) {
        List<String> actual = List.of(new String(output, StandardCharsets.ISO_8859_1).split("\n", -1));
        actual = actual.subList(0, actual.size() - 1); // after the last LF
        String context = file.getFileName() + "\n--- got ---\n" + String.join("\n", actual);
        assertEquals(expected.size(), actual.size(), "line count of " + context);
        for (int i = 0; i < expected.size(); i++) {
            String e = expected.get(i);
            String a = actual.get(i);
            if (e.endsWith("*")) {
                String prefix = e.substring(0, e.length() - 1);
                assertEquals(prefix, a.substring(0, Math.min(a.length(), prefix.length())), "line " + (i + 1) + " of " + context);
            } else {
                assertEquals(e, a, "line " + (i + 1) + " of " + context);
            }
        }
    }

    /** {@code \t}, {@code \n}, {@code \xNN}, {@code \\}; everything else as UTF-8. */
    static byte[] unescape(String s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < b.length; i++) {
            if (b[i] == '\\' && i + 1 < b.length) {
                char c = (char) b[++i];
                switch (c) {
                    case 't' -> out.write('\t');
                    case 'n' -> out.write('\n');
                    case 'r' -> out.write('\r');
                    case '\\' -> out.write('\\');
                    case 'x' -> {
                        out.write(Integer.parseInt(new String(b, i + 1, 2, StandardCharsets.US_ASCII), 16));
                        i += 2;
                    }
                    default -> throw new IllegalArgumentException("bad escape \\" + c + " in " + s);
                }
            } else {
                out.write(b[i]);
            }
        }
        return out.toByteArray();
    }
}
