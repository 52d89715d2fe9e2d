package org.saslauth.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.TimeZone;

/**
 * Sets up slf4j-simple before the first logger exists. slf4j-simple writes to {@code System.err}
 * (and would truncate a file it opened itself), so {@code System.err} becomes the log file,
 * opened for appending since every smtpd's helper shares it (and reopened after log rotation:
 * {@link LogFile}), or a sink when there is no log file. In serving mode this also keeps any stray JVM or library output off the socket.
 */
final class Logging {

    static final String[] LEVELS = {"trace", "debug", "info", "warn", "error", "off"};

    /** The log file's stream that {@link #toFile} made {@code System.err}; null before. */
    private static PrintStream logStream;

    private Logging() {}

    /**
     * @param logFile where to append log lines, or null to drop them
     * @throws IOException when the log file cannot be opened for appending
     */
    static void toFile(Path logFile, String level) throws IOException {
        toFile(logFile, level, null, null);
    }

    /**
     * @param logFile where to append log lines, or null to drop them (or send them to syslog only)
     * @param facility the syslog facility ({@code --syslog-facility}), or null for no syslog
     * @param syslogSocket where syslog listens ({@code --syslog-socket})
     * @throws IOException when the log file cannot be opened for appending
     */
    static void toFile(Path logFile, String level, String facility, Path syslogSocket) throws IOException {
        OutputStream target = OutputStream.nullOutputStream();
        syslog = null;
        Timestamped file = null;
        if (logFile != null) {
            file = new Timestamped(new LogFile(logFile));
            Runtime.getRuntime().addShutdownHook(new Thread(file::flushNow, "saslauth-log-flush"));
            target = file;
        }
        if (facility != null && Syslog.code(facility) >= 0) {
            // Syslog's own methods only: an assignment of a Syslog here would load the class in
            // every helper; no lambdas either, each spins method handles before the handshake
            syslog = Syslog.open(facility, syslogSocket, file);
            target = syslog.after(file);
        }
        logStream = new PrintStream(target, false, StandardCharsets.UTF_8);
        System.setErr(logStream);
        linesLogged = logFile != null || syslog != null;
        configure(linesLogged ? level : "off", false); // Timestamped writes the time
    }

    /** How long the exit waits for the lines not yet sent to syslog. */
    static final long DRAIN_MILLIS = 1000;

    /** The syslog sink that {@link #toFile} installed, or null. */
    private static Syslog syslog;

    /**
     * Logs a warning that must reach the log file whatever {@code --log-level} says (the OREORE
     * warning): through the logger when it logs warnings, else written in the logger's own
     * format straight to the log stream. Without a log file it goes nowhere, like every line.
     */
    static void warnAtAnyLevel(String message) {
        org.slf4j.Logger log = org.saslauth.Log.LOG;
        if (log.isWarnEnabled()) {
            log.warn("{}", message);
        } else if (logStream != null) {
            logStream.println("WARN " + log.getName() + " - " + message);
            logStream.flush();
        }
    }

    /**
     * Looks the time zone up on a thread of its own, once the handshake is out, when lines are
     * logged: the first line's time needs it, and the JDK reads and parses its time-zone data
     * for it (some 5 to 8 ms on Java 17), which the first login would otherwise wait for.
     */
    static void warmClock() {
        if (!linesLogged) {
            return;
        }
        Thread t = new Thread(ZONE_LOOKUP, "saslauth-clock");
        t.setDaemon(true);
        t.start();
    }

    /**
     * Makes the logger on a thread of its own, once {@link #toFile} has set slf4j up, while the
     * serving thread goes on to read the passwd file: slf4j's start formats a message with
     * {@code String.format} even when it says nothing, and the JDK's {@code Formatter} compiles a
     * regex there, whose lambdas spin method handles, some 4 ms of a helper's start on Java 17.
     * The serving thread's first line waits for it (the class's initialisation), as it would have
     * made it itself.
     */
    static void makeLoggerBeside() {
        Thread t = new Thread(MAKE_LOGGER, "saslauth-log-start");
        t.setDaemon(true);
        t.start();
    }

    private static final Runnable MAKE_LOGGER = new Runnable() {
        @Override
        public void run() {
            org.saslauth.Log.LOG.getName();
        }
    };

    /** A class rather than a lambda: a lambda spins method handles where it is made, before the handshake. */
    static final Runnable WARM_CLOCK = new Runnable() {
        @Override
        public void run() {
            warmClock();
        }
    };

    private static final Runnable ZONE_LOOKUP = new Runnable() {
        @Override
        public void run() {
            lookUpZone();
        }
    };

    /** What a line's time needs, looked up now: the time zone, and the classes that write the time. */
    static void lookUpZone() {
        long now = System.currentTimeMillis();
        int offset = TimeZone.getDefault().getOffset(now) / 1000;
        LocalDateTime.ofEpochSecond(Math.floorDiv(now, 1000), 0, ZoneOffset.ofTotalSeconds(offset));
    }

    /** Whether {@link #toFile} sends lines anywhere (a log file, syslog). */
    private static boolean linesLogged;

    /** Writes out the log lines still buffered, before the process exits. */
    static void flush() {
        System.err.flush(); // the log stream that toFile installed, never the socket
        if (syslog != null) {
            syslog.drain(DRAIN_MILLIS);
        }
    }

    /** For the admin subcommands: warnings and errors to the terminal. */
    static void toTerminal(String level) {
        configure(level, true);
    }

    private static void configure(String level, boolean dates) {
        // The provider named, so that slf4j does not look for one with ServiceLoader (which
        // reads the JDK's module image and the jar's META-INF/services); its own notes about
        // that stay unsaid, only warnings would go to the log.
        System.setProperty("slf4j.provider", "org.slf4j.simple.SimpleServiceProvider");
        System.setProperty("slf4j.internal.verbosity", "WARN");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", level);
        System.setProperty("org.slf4j.simpleLogger.showDateTime", Boolean.toString(dates));
        if (dates) {
            System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
        } else {
            // slf4j-simple builds its SimpleDateFormat whenever the format is set
            System.clearProperty("org.slf4j.simpleLogger.dateTimeFormat");
        }
        System.setProperty("org.slf4j.simpleLogger.showThreadName", "false");
        System.setProperty("org.slf4j.simpleLogger.levelInBrackets", "false");
    }

    /**
     * Starts every line with the local time as slf4j-simple's {@code dateTimeFormat} above
     * writes it ({@code 2026-05-04T10:11:12.345+02:00}, {@code Z} for UTC), for the log file of
     * a serving helper. slf4j-simple would build a {@code SimpleDateFormat} when it starts, which
     * loads the locale data: some 40 ms and 200 classes before the handshake, and more memory
     * in every helper. The time zone is looked up at the first line.
     *
     * <p>slf4j-simple also flushes after every line: one write(2) per login, a third of the
     * time of a PLAIN or OREORE login. Here a flush reaches the file at once when the last one
     * is {@link #FLUSH_INTERVAL_NANOS} old, otherwise that much later from a helper thread,
     * and at exit from a shutdown hook: a burst of logins costs one write per interval, and
     * no line waits longer than that.
     */
    static final class Timestamped extends OutputStream {
        static final long FLUSH_INTERVAL_NANOS = 10_000_000;

        private static final int BATCH = 8192;

        private final OutputStream out;
        private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream(256);
        private final java.io.ByteArrayOutputStream batch = new java.io.ByteArrayOutputStream(BATCH);
        private final byte[] stamp = new byte[30];
        private TimeZone zone;
        private boolean lineStart = true;
        private long lastFlush = System.nanoTime() - FLUSH_INTERVAL_NANOS;
        private boolean flushPending;
        private Thread flusher;
        private boolean flusherIdle;

        Timestamped(OutputStream out) {
            this.out = out;
        }

        @Override
        public synchronized void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        /**
         * Collects a line, stamped, and hands the file only whole lines: several helpers append
         * to one file, and one write(2) of whole lines cannot be interleaved with theirs.
         */
        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            int end = off + len;
            while (off < end) {
                if (lineStart) {
                    writeStamp();
                    lineStart = false;
                }
                int nl = off;
                while (nl < end && b[nl] != '\n') {
                    nl++;
                }
                int stop = nl < end ? nl + 1 : end;
                line.write(b, off, stop - off);
                off = stop;
                if (nl < end) {
                    lineStart = true;
                    if (batch.size() + line.size() > BATCH) {
                        writeBatch();
                    }
                    line.writeTo(batch);
                    line.reset();
                }
            }
        }

        private void writeBatch() throws IOException {
            if (batch.size() > 0) {
                batch.writeTo(out);
                batch.reset();
            }
        }

        @Override
        public synchronized void flush() throws IOException {
            if (System.nanoTime() - lastFlush >= FLUSH_INTERVAL_NANOS) {
                flushPending = false;
                lastFlush = System.nanoTime();
                writeBatch();
                out.flush();
                return;
            }
            flushPending = true;
            if (flusher == null) {
                flusher = new Thread(this::flushLater, "saslauth-log-flush");
                flusher.setDaemon(true);
                flusher.start();
            } else if (flusherIdle) {
                notifyAll();
            }
        }

        /** Writes out what is buffered; errors are dropped, as slf4j-simple drops them. */
        synchronized void flushNow() {
            flushPending = false;
            lastFlush = System.nanoTime();
            try {
                writeBatch();
                out.flush();
            } catch (IOException e) {
                // nowhere to report it
            }
        }

        private synchronized void flushLater() {
            try {
                while (true) {
                    flusherIdle = true;
                    while (!flushPending) {
                        wait();
                    }
                    flusherIdle = false;
                    long left;
                    while (flushPending && (left = lastFlush + FLUSH_INTERVAL_NANOS - System.nanoTime()) > 0) {
                        wait(left / 1_000_000 + 1);
                    }
                    if (flushPending) {
                        flushNow();
                    }
                }
            } catch (InterruptedException e) {
                flushNow();
            }
        }

        @Override
        public synchronized void close() throws IOException {
            writeBatch();
            out.close();
        }

        private void writeStamp() throws IOException {
            if (zone == null) {
                zone = TimeZone.getDefault();
            }
            long now = System.currentTimeMillis();
            int offset = zone.getOffset(now) / 1000;
            LocalDateTime t = LocalDateTime.ofEpochSecond(Math.floorDiv(now, 1000),
                    (int) Math.floorMod(now, 1000) * 1_000_000, ZoneOffset.ofTotalSeconds(offset));
            int n = 0;
            n = digits(t.getYear(), 4, n);
            stamp[n++] = '-';
            n = digits(t.getMonthValue(), 2, n);
            stamp[n++] = '-';
            n = digits(t.getDayOfMonth(), 2, n);
            stamp[n++] = 'T';
            n = digits(t.getHour(), 2, n);
            stamp[n++] = ':';
            n = digits(t.getMinute(), 2, n);
            stamp[n++] = ':';
            n = digits(t.getSecond(), 2, n);
            stamp[n++] = '.';
            n = digits(t.getNano() / 1_000_000, 3, n);
            if (offset == 0) {
                stamp[n++] = 'Z';
            } else {
                stamp[n++] = (byte) (offset < 0 ? '-' : '+');
                int minutes = Math.abs(offset) / 60;
                n = digits(minutes / 60, 2, n);
                stamp[n++] = ':';
                n = digits(minutes % 60, 2, n);
            }
            stamp[n++] = ' ';
            line.write(stamp, 0, n);
        }

        private int digits(int value, int width, int at) {
            for (int i = at + width - 1; i >= at; i--) {
                stamp[i] = (byte) ('0' + value % 10);
                value /= 10;
            }
            return at + width;
        }
    }
}
