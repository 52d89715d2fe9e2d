package org.saslauth.protocol;

import java.io.Flushable;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Reads LF-terminated lines of at most a fixed length from a byte stream. A longer line is
 * skipped up to its LF and reported as {@link Line#overflow()} with its first bytes, so that the
 * caller can still answer its id; it is never buffered whole. Before it waits for input it
 * flushes what the caller wrote, so that no reply waits for the client's next line.
 */
final class LineReader {

    /** A line read, or the head of a line that was too long. */
    record Line(byte[] bytes, boolean overflow) {}

    private static final int HEAD = 64;

    private final InputStream in;
    private final int maxLength;
    private final Flushable beforeWait;
    private final byte[] buf = new byte[8192];
    private int pos;
    private int end;

    LineReader(InputStream in, int maxLength, Flushable beforeWait) {
        this.in = in;
        this.maxLength = maxLength;
        this.beforeWait = beforeWait;
    }

    /**
     * The next line without its LF (and without one trailing CR), or null at end of input. A
     * final line without LF is returned as a line.
     */
    Line read() throws IOException {
        byte[] acc = null;
        int accLen = 0;
        boolean overflow = false;
        while (true) {
            if (pos == end) {
                beforeWait.flush();
                end = in.read(buf, 0, buf.length);
                pos = 0;
                if (end <= 0) {
                    end = 0;
                    if (acc == null && !overflow) {
                        return null;
                    }
                    return finish(acc, accLen, overflow);
                }
            }
            int lf = -1;
            for (int i = pos; i < end; i++) {
                if (buf[i] == '\n') {
                    lf = i;
                    break;
                }
            }
            int chunkEnd = lf < 0 ? end : lf;
            int chunk = chunkEnd - pos;
            if (!overflow) {
                if (accLen + chunk > maxLength + 1) { // +1 for a CR before the LF
                    overflow = true;
                    int keep = Math.min(HEAD, accLen);
                    byte[] head = new byte[HEAD];
                    if (acc != null) {
                        System.arraycopy(acc, 0, head, 0, keep);
                    }
                    int more = Math.min(HEAD - keep, chunk);
                    System.arraycopy(buf, pos, head, keep, more);
                    acc = head;
                    accLen = keep + more;
                } else {
                    if (acc == null) {
                        acc = new byte[Math.max(128, chunk)];
                    } else if (accLen + chunk > acc.length) {
                        acc = Arrays.copyOf(acc, Math.max(acc.length * 2, accLen + chunk));
                    }
                    System.arraycopy(buf, pos, acc, accLen, chunk);
                    accLen += chunk;
                }
            }
            pos = chunkEnd;
            if (lf >= 0) {
                pos = lf + 1;
                return finish(acc, accLen, overflow);
            }
        }
    }

    private Line finish(byte[] acc, int len, boolean overflow) {
        if (acc == null) {
            return new Line(new byte[0], overflow);
        }
        if (!overflow && len > 0 && acc[len - 1] == '\r') {
            len--;
        }
        if (!overflow && len > maxLength) {
            return new Line(Arrays.copyOf(acc, Math.min(len, HEAD)), true);
        }
        return new Line(Arrays.copyOf(acc, len), overflow);
    }
}
