package org.saslauth.fuzz;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Input that hands the server one LF-terminated segment at a time and reports when it starts on
 * the next one. The server answers a line before it reads on, so everything it wrote between two
 * reports is its answer to the segment in between.
 */
final class SegmentedInput extends InputStream {

    private final List<byte[]> segments;
    private final IntConsumer onSegmentStart;
    private int segment;
    private int pos;

    SegmentedInput(List<byte[]> segments, IntConsumer onSegmentStart) {
        this.segments = segments;
        this.onSegmentStart = onSegmentStart;
    }

    /** Splits after every LF; the last segment may lack one. */
    static List<byte[]> split(byte[] input) {
        List<byte[]> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < input.length; i++) {
            if (input[i] == '\n') {
                out.add(java.util.Arrays.copyOfRange(input, start, i + 1));
                start = i + 1;
            }
        }
        if (start < input.length) {
            out.add(java.util.Arrays.copyOfRange(input, start, input.length));
        }
        return out;
    }

    @Override
    public int read() {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) {
        if (len == 0) {
            return 0;
        }
        if (segment < segments.size() && pos == segments.get(segment).length) {
            segment++;
            pos = 0;
        }
        if (segment == segments.size()) {
            return -1;
        }
        if (pos == 0) {
            onSegmentStart.accept(segment);
        }
        byte[] s = segments.get(segment);
        int n = Math.min(len, s.length - pos);
        System.arraycopy(s, pos, b, off, n);
        pos += n;
        return n;
    }
}
