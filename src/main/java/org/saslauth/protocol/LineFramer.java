package org.saslauth.protocol;

import java.util.Arrays;

/**
 * Cuts bytes into LF-terminated lines as they arrive, in pieces of any size split anywhere: the
 * one framer of the spawn loop and of the daemon's connections. A line reaches the consumer
 * without its LF and without one CR before it. A line longer than {@link Limits#maxLine()}
 * reaches it once, as its first {@link Limits#overflowHead()} bytes with {@code overflow} set,
 * and the rest is skipped up to its LF, never buffered whole (Dovecot's own limit on a line is a
 * protocol error; the engine answers the line's id). At end of input a last line without LF is
 * still a line; a partial line dropped by {@link #stop()} is not.
 *
 * <p>Buffers only the line not yet ended, and nothing between lines: an idle connection costs a
 * few fields. Not thread-safe: one reader pushes.
 */
public final class LineFramer {

    /** Where the lines go. */
    @FunctionalInterface
    public interface Lines {
        /**
         * One line; {@code overflow}: the head of a line that was too long. Returns whether more
         * lines are wanted: false stops the framer, and what was pushed after the line is dropped.
         */
        boolean line(byte[] bytes, boolean overflow);
    }

    private static final byte[] NOTHING = new byte[0];
    /** A buffer grown beyond this for a long line is let go after it. */
    private static final int KEEP = 1024;

    private final int maxLine;
    private final int head;
    private final Lines lines;
    private byte[] partial;
    private int partialLen;
    /** The head of an over-long line whose LF has not come yet; null when not skipping. */
    private byte[] skipped;
    private boolean stopped;

    public LineFramer(Limits limits, Lines lines) {
        this.maxLine = limits.maxLine();
        this.head = limits.overflowHead();
        this.lines = lines;
    }

    /** Frames {@code len} bytes of {@code b} from {@code off}. Ignored once stopped. */
    public void push(byte[] b, int off, int len) {
        int start = off;
        int end = off + len;
        for (int i = off; i < end && !stopped; i++) {
            if (b[i] == '\n') {
                lineEnd(b, start, i);
                start = i + 1;
            }
        }
        if (!stopped && start < end) {
            accumulate(b, start, end);
        }
    }

    /** End of input: a last line without LF is delivered as a line. Stops the framer. */
    public void end() {
        if (!stopped && (partialLen > 0 || skipped != null)) {
            lineEnd(NOTHING, 0, 0);
        }
        stop();
    }

    /** No more lines: what is buffered is dropped, and later pushes are ignored. */
    public void stop() {
        stopped = true;
        partial = null;
        partialLen = 0;
        skipped = null;
    }

    /** Whether the framer was stopped (by {@link #stop()}, {@link #end()} or its consumer). */
    public boolean stopped() {
        return stopped;
    }

    private void accumulate(byte[] b, int from, int to) {
        if (skipped != null) {
            return;
        }
        int len = to - from;
        if (partialLen + len > maxLine + 1) { // +1: a CR before the LF
            startSkipping(b, from, to);
            return;
        }
        if (partial == null) {
            partial = new byte[Math.min(maxLine + 1, Math.max(256, len))];
        } else if (partialLen + len > partial.length) {
            partial = Arrays.copyOf(partial, Math.min(maxLine + 1, Math.max(partial.length * 2, partialLen + len)));
        }
        System.arraycopy(b, from, partial, partialLen, len);
        partialLen += len;
    }

    /** Keeps the head of the line (what is buffered, then from {@code b}) and drops the rest. */
    private void startSkipping(byte[] b, int from, int to) {
        int keep = Math.min(head, partialLen);
        byte[] h = new byte[Math.min(head, keep + (to - from))];
        if (keep > 0) {
            System.arraycopy(partial, 0, h, 0, keep);
        }
        System.arraycopy(b, from, h, keep, h.length - keep);
        skipped = h;
        partial = null;
        partialLen = 0;
    }

    private void lineEnd(byte[] b, int from, int lf) {
        if (skipped == null && partialLen + (lf - from) > maxLine + 1) {
            startSkipping(b, from, lf);
        }
        if (skipped != null) {
            byte[] h = skipped;
            skipped = null;
            deliver(h, true);
            return;
        }
        int len = partialLen + (lf - from);
        if (len > 0 && (lf > from ? b[lf - 1] : partial[partialLen - 1]) == '\r') {
            len--;
        }
        if (len > maxLine) { // one byte over, and no CR to drop
            deliver(take(b, from, head), true);
        } else {
            deliver(take(b, from, len), false);
        }
    }

    /** The first {@code n} bytes of the line: what is buffered, then from {@code b}; the buffer is emptied. */
    private byte[] take(byte[] b, int from, int n) {
        byte[] line = new byte[n];
        int fromPartial = Math.min(n, partialLen);
        if (fromPartial > 0) {
            System.arraycopy(partial, 0, line, 0, fromPartial);
        }
        System.arraycopy(b, from, line, fromPartial, n - fromPartial);
        reset();
        return line;
    }

    private void reset() {
        partialLen = 0;
        if (partial != null && partial.length > KEEP) {
            partial = null;
        }
    }

    private void deliver(byte[] line, boolean overflow) {
        if (!lines.line(line, overflow)) {
            stop();
        }
    }
}
