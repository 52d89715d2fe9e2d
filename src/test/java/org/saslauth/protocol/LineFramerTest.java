package org.saslauth.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The one line framer: pushed in pieces split anywhere, the same lines come out. */
class LineFramerTest {

    /** A line limit of 16 bytes and a head of 4, so that over-long lines are short to write. */
    private static final Limits SMALL = new Limits(16, 4, 8, 64, 32, Duration.ofSeconds(1));

    /** What the consumer saw: "TEXT" for a line, "!HEAD" for the head of an over-long one. */
    private static final class Seen implements LineFramer.Lines {
        final List<String> lines = new ArrayList<>();
        String stopAfter;

        @Override
        public boolean line(byte[] bytes, boolean overflow) {
            String text = new String(bytes, StandardCharsets.ISO_8859_1);
            lines.add(overflow ? "!" + text : text);
            return !text.equals(stopAfter);
        }
    }

    private static List<String> frame(Limits limits, String input, int... cuts) {
        Seen seen = new Seen();
        LineFramer f = new LineFramer(limits, seen);
        byte[] b = input.getBytes(StandardCharsets.ISO_8859_1);
        int from = 0;
        for (int cut : cuts) {
            f.push(b, from, cut - from);
            from = cut;
        }
        f.push(b, from, b.length - from);
        f.end();
        return seen.lines;
    }

    private static final String TRANSCRIPT = "VERSION\t1\t0\r\nCPID\t42\n\n\r\nAUTH\t1\tPLAIN\tresp=AGFsaWNl"
            + "\nCONT\t1\t" + "x".repeat(40) + "\n" + "y".repeat(17) + "\nz".repeat(3) + "\r\r\nlast\r";

    private static final List<String> LINES = List.of("VERSION\t1\t0", "CPID\t42", "", "",
            "!AUTH", "!CONT", "!yyyy", "z", "z", "z\r", "last");

    @Test
    void everySplitOfATranscriptGivesTheSameLines() {
        assertEquals(LINES, frame(SMALL, TRANSCRIPT), "in one piece");
        int n = TRANSCRIPT.length();
        for (int i = 0; i <= n; i++) {
            assertEquals(LINES, frame(SMALL, TRANSCRIPT, i), "split at " + i);
            for (int j = i; j <= n; j += 7) {
                assertEquals(LINES, frame(SMALL, TRANSCRIPT, i, j), "split at " + i + " and " + j);
            }
        }
    }

    @Test
    void byteByByteGivesTheSameLines() {
        int[] cuts = new int[TRANSCRIPT.length()];
        for (int i = 0; i < cuts.length; i++) {
            cuts[i] = i;
        }
        assertEquals(LINES, frame(SMALL, TRANSCRIPT, cuts));
    }

    /** {@code \n} and {@code \r} stand for LF and CR; in the lines expected, {@code _} is an empty line. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "exactly the limit                 | aaaaaaaaaaaaaaaa\\n                 | aaaaaaaaaaaaaaaa",
        "the limit and a CR                | aaaaaaaaaaaaaaaa\\r\\n               | aaaaaaaaaaaaaaaa",
        "one byte over                     | aaaaaaaaaaaaaaaab\\n                | !aaaa",
        "one byte over, ending in CR       | aaaaaaaaaaaaaaaab\\r\\n              | !aaaa",
        "far over, then a line             | 0123456789abcdefghijklmnop\\nok\\n    | !0123;ok",
        "over at end of input              | 0123456789abcdefghijklmnop          | !0123",
        "end of input mid-line             | one\\ntw                             | one;tw",
        "end of input after a CR           | one\\r                               | one",
        "only a LF                         | \\n                                  | _",
        "empty lines                       | \\n\\r\\n\\n                         | _;_;_",
        "a CR inside a line stays          | a\\rb\\n                             | a\\rb",
        "two CRs: one is dropped           | a\\r\\r\\n                           | a\\r",
        "nothing                           | ''                                  | none",
    })
    void linesAtTheEdges(String what, String input, String expected) {
        List<String> want = expected.equals("none") ? List.of()
                : List.of(unescape(expected).replace("_", "").split(";", -1));
        String in = unescape(input);
        assertEquals(want, frame(SMALL, in), what);
        for (int i = 0; i <= in.length(); i++) {
            assertEquals(want, frame(SMALL, in, i), what + ", split at " + i);
        }
    }

    private static String unescape(String s) {
        return s.replace("\\n", "\n").replace("\\r", "\r");
    }

    @Test
    void aHugeLineIsNeverBufferedWholeAndYieldsItsHeadOnce() {
        Seen seen = new Seen();
        LineFramer f = new LineFramer(Limits.DEFAULT, seen);
        byte[] start = "CONT\t9\t".getBytes(StandardCharsets.US_ASCII);
        f.push(start, 0, start.length);
        byte[] mib = "x".repeat(1 << 20).getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < 64; i++) { // 64 MiB: an accumulating framer would run out of heap
            f.push(mib, 0, mib.length);
        }
        byte[] rest = "\nnext\n".getBytes(StandardCharsets.US_ASCII);
        f.push(rest, 0, rest.length);
        assertEquals(List.of("!CONT\t9\t" + "x".repeat(Limits.DEFAULT.overflowHead() - 7), "next"), seen.lines);
    }

    @Test
    void theDefaultLimitIsDovecots() {
        assertEquals(16384, Limits.DEFAULT.maxLine());
        String max = "A".repeat(Limits.MAX_LINE);
        assertEquals(List.of(max), frame(Limits.DEFAULT, max + "\r\n", 5000, 16384));
        assertEquals(List.of("!" + max.substring(0, 64)), frame(Limits.DEFAULT, max + "B\n", 16384));
    }

    @Test
    void aConsumerThatWantsNoMoreStopsTheFramerMidPiece() {
        Seen seen = new Seen();
        seen.stopAfter = "two";
        LineFramer f = new LineFramer(SMALL, seen);
        byte[] b = "one\ntwo\nthree\nfour".getBytes(StandardCharsets.US_ASCII);
        f.push(b, 0, b.length);
        assertTrue(f.stopped());
        f.push(b, 0, b.length);
        f.end();
        assertEquals(List.of("one", "two"), seen.lines);
    }

    @Test
    void stopDropsAnUnfinishedLine() {
        Seen seen = new Seen();
        LineFramer f = new LineFramer(SMALL, seen);
        byte[] b = "one\ntw".getBytes(StandardCharsets.US_ASCII);
        f.push(b, 0, b.length);
        f.stop();
        f.end();
        assertEquals(List.of("one"), seen.lines);
    }
}
