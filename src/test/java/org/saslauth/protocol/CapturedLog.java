package org.saslauth.protocol;

import org.saslauth.Log;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Runs code with the engine's logger at its most verbose level and {@code System.err} captured.
 * slf4j-simple looks up {@code System.err} at every event and writes each event with one
 * {@code println}, so one call here is one event: an event holding a line break is a forged line.
 *
 * <p>The level is set on the logger itself rather than through system properties, because
 * slf4j-simple reads those once, when the first logger of the JVM is made, which may have been
 * in another test class.
 */
public final class CapturedLog {

    /** What the logger wrote: its events, and every byte written to the stream. */
    public record Output(List<String> events, String raw) {}

    /** The result of the action and the log it wrote. */
    public record Run<T>(T result, Output log) {}

    private static final Object LOCK = new Object();

    private CapturedLog() {}

    public static <T> Run<T> capture(Callable<T> action) throws Exception {
        return capture(org.slf4j.event.Level.TRACE, action);
    }

    /** As {@link #capture(Callable)}, with the logger at {@code at} (slf4j-simple's levels are slf4j's). */
    public static <T> Run<T> capture(org.slf4j.event.Level at, Callable<T> action) throws Exception {
        synchronized (LOCK) {
            Field level = Class.forName("org.slf4j.simple.SimpleLogger").getDeclaredField("currentLogLevel");
            level.setAccessible(true);
            int before = level.getInt(Log.LOG);
            Recorder recorder = new Recorder();
            PrintStream err = System.err;
            level.setInt(Log.LOG, at.toInt());
            System.setErr(recorder);
            try {
                T result = action.call();
                return new Run<>(result, recorder.output());
            } finally {
                System.setErr(err);
                level.setInt(Log.LOG, before);
            }
        }
    }

    private static final class Recorder extends PrintStream {
        private final List<String> events = new ArrayList<>();

        Recorder() {
            super(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        }

        @Override
        public void println(String x) {
            synchronized (this) {
                events.add(x);
                super.println(x);
            }
        }

        synchronized Output output() {
            flush();
            return new Output(List.copyOf(events),
                    ((ByteArrayOutputStream) out).toString(StandardCharsets.UTF_8));
        }
    }
}
