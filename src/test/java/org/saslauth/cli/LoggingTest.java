package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LoggingTest {

    /** Every write(2) the file would see. */
    static final class Writes extends OutputStream {
        final List<String> writes = new ArrayList<>();
        final ByteArrayOutputStream all = new ByteArrayOutputStream();

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            writes.add(new String(b, off, len, StandardCharsets.UTF_8));
            all.write(b, off, len);
        }
    }

    /**
     * Several helpers append to one log file: a line split over two writes could be interleaved
     * with another helper's line and no longer match a fail2ban filter.
     */
    @Test
    void theFileOnlyEverGetsWholeStampedLines() throws Exception {
        Writes file = new Writes();
        Logging.Timestamped log = new Logging.Timestamped(file);
        PrintStream ps = new PrintStream(log, false, StandardCharsets.UTF_8);
        for (int i = 0; i < 2000; i++) {
            ps.println("INFO saslauth[1] - auth failed: rip=192.0.2." + (i % 250) + " mech=PLAIN user=\"u" + i + "\"");
            if (i % 7 == 0) {
                ps.flush();
            }
        }
        ps.flush();
        log.flushNow();
        assertTrue(file.writes.size() > 1, "batched into several writes");
        for (String w : file.writes) {
            assertTrue(w.endsWith("\n"), "write ends at a line end: " + w.substring(Math.max(0, w.length() - 40)));
            assertTrue(w.length() <= 8192 || w.split("\n").length == 1, "batch bounded");
        }
        String[] lines = file.all.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(2000, lines.length);
        for (int i = 0; i < lines.length; i++) {
            assertTrue(lines[i].matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d) INFO saslauth\\[1\\] - auth failed: rip=192\\.0\\.2\\.\\d+ mech=PLAIN user=\"u" + i + "\""),
                    lines[i]);
        }
    }
}
