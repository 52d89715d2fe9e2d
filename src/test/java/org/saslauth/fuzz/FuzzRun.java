package org.saslauth.fuzz;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Function;
import org.junit.jupiter.api.TestReporter;

/**
 * Runs sessions drawn from seeds, checks each, and on a failure reports how to replay it.
 *
 * <p>Session {@code i} of a test is drawn from a seed made of the base seed, the test's name and
 * {@code i} alone, so one failing session can be replayed without the others:
 * {@code -Dfuzz.seed=BASE -Dfuzz.session=i}. The base seed is random per run unless
 * {@code -Dfuzz.seed} fixes it; it is published as a report entry of every test. The number of
 * sessions scales with {@code -Dfuzz.tries=N}: N sessions for a test written with
 * {@link AuthServerFuzzTest#TRIES}, the others in proportion. Without it, the counts written in
 * the code run (the CI budget).
 *
 * <p>Sessions under the rate limit depend on the clock, so their replay is not always exact.
 */
final class FuzzRun {

    static final long BASE_SEED = baseSeed();

    /** The input shown in a failure message is cut after this many characters. */
    private static final int SHOWN = 4000;

    /** Shrinking stops after this many sessions served, or this long. */
    private static final int SHRINK_RUNS = 400;
    private static final long SHRINK_NANOS = 20_000_000_000L;

    private FuzzRun() {}

    /**
     * Serves {@code written} sessions (as scaled by {@code -Dfuzz.tries}) drawn by {@code draw},
     * and publishes the seed, the count and the kinds of replies seen.
     */
    static void run(String test, int written, TestReporter reporter, Function<SplittableRandom, Session> draw) {
        reporter.publishEntry("fuzz.seed", Long.toString(BASE_SEED));
        int tries = scaled(written);
        String only = System.getProperty("fuzz.session");
        int first = 0;
        int end = tries;
        if (only != null && !only.isBlank()) {
            first = Integer.parseInt(only.strip());
            end = first + 1;
        }
        Map<String, Integer> seen = new TreeMap<>();
        for (int i = first; i < end; i++) {
            Session session = draw.apply(new SplittableRandom(sessionSeed(test, i)));
            try {
                session.serveAndCheck().forEach(kind -> seen.merge(kind, 1, Integer::sum));
            } catch (Exception | AssertionError e) {
                throw failure(test, i, session, e);
            }
        }
        reporter.publishEntry("fuzz.sessions", Integer.toString(end - first));
        reporter.publishEntry("fuzz.sessions with", seen.toString());
    }

    static int scaled(int written) {
        String wanted = System.getProperty("fuzz.tries");
        if (wanted == null || wanted.isBlank()) {
            return written;
        }
        double factor = Double.parseDouble(wanted.strip()) / AuthServerFuzzTest.TRIES;
        return (int) Math.max(1, Math.round(written * factor));
    }

    private static long baseSeed() {
        String fixed = System.getProperty("fuzz.seed");
        if (fixed != null && !fixed.isBlank()) {
            return Long.decode(fixed.strip());
        }
        return new SplittableRandom().nextLong();
    }

    static long sessionSeed(String test, int index) {
        return mix(mix(BASE_SEED ^ test.hashCode()) + index);
    }

    /** Stafford's variant 13 of the MurmurHash3 finalizer, as in SplittableRandom. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    private static AssertionError failure(String test, int index, Session session, Throwable cause) {
        StringBuilder m = new StringBuilder()
                .append(test).append(": session ").append(index).append(" failed: ").append(cause)
                .append("\n  replay: -Dfuzz.seed=").append(BASE_SEED).append(" -Dfuzz.session=").append(index)
                .append("\n  ").append(session)
                .append("\n  input: ").append(escape(session.input()));
        Session smallest = shrink(session);
        if (smallest.input().length < session.input().length) {
            m.append("\n  smallest failing input with lines dropped (").append(smallest.input().length)
                    .append(" bytes): ").append(escape(smallest.input()));
        }
        return new AssertionError(m.toString(), cause);
    }

    /**
     * Drops input lines one at a time for as long as the session still fails. Cheap, and enough
     * to bring a thirty-line session down to the two or three lines that matter.
     */
    private static Session shrink(Session failing) {
        List<byte[]> lines = new ArrayList<>(SegmentedInput.split(failing.input()));
        long deadline = System.nanoTime() + SHRINK_NANOS;
        int runs = 0;
        boolean dropped = true;
        while (dropped) {
            dropped = false;
            for (int i = lines.size() - 1; i >= 0; i--) {
                if (runs++ >= SHRINK_RUNS || System.nanoTime() > deadline) {
                    return failing.withInput(join(lines));
                }
                List<byte[]> fewer = new ArrayList<>(lines);
                fewer.remove(i);
                if (fails(failing.withInput(join(fewer)))) {
                    lines = fewer;
                    dropped = true;
                }
            }
        }
        return failing.withInput(join(lines));
    }

    private static boolean fails(Session session) {
        try {
            session.serveAndCheck();
            return false;
        } catch (Exception | AssertionError e) {
            return true;
        }
    }

    private static byte[] join(List<byte[]> lines) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        lines.forEach(out::writeBytes);
        return out.toByteArray();
    }

    /**
     * The bytes as a Java string literal would write them (\t, \n, \r, \0, and \xNN for other
     * control and all non-ASCII bytes), long runs of one byte written once with their length,
     * cut after {@link #SHOWN} characters.
     */
    static String escape(byte[] bytes) {
        StringBuilder b = new StringBuilder("\"");
        int i = 0;
        while (i < bytes.length && b.length() < SHOWN) {
            int run = 1;
            while (i + run < bytes.length && bytes[i + run] == bytes[i]) {
                run++;
            }
            if (run >= 16) {
                b.append("\"+").append(run).append("*\"");
                appendByte(b, bytes[i]);
                b.append("\"+\"");
                i += run;
            } else {
                appendByte(b, bytes[i]);
                i++;
            }
        }
        b.append('"');
        if (i < bytes.length) {
            b.append("... (").append(bytes.length - i).append(" more bytes)");
        }
        return b.toString();
    }

    private static void appendByte(StringBuilder b, byte x) {
        int c = x & 0xff;
        switch (c) {
            case '\t' -> b.append("\\t");
            case '\n' -> b.append("\\n");
            case '\r' -> b.append("\\r");
            case 0 -> b.append("\\0");
            case '"', '\\' -> b.append('\\').append((char) c);
            default -> {
                if (c < 0x20 || c >= 0x7f) {
                    b.append(String.format("\\x%02x", c));
                } else {
                    b.append((char) c);
                }
            }
        }
    }
}
