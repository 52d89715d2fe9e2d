package org.saslauth.cli;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.TimeZone;
import java.util.concurrent.ArrayBlockingQueue;
import org.saslauth.Pid;
import org.saslauth.os.Errno;
import org.saslauth.os.Libc;

/**
 * The log's lines to syslog as well, through {@code /dev/log}, as glibc's {@code syslog(3)} sends
 * them: one datagram per line, {@code <PRI>Mmm dd hh:mm:ss saslauth[PID]: message} (RFC 3164),
 * the severity from slf4j-simple's level word ({@code ERROR} err, {@code WARN} warning,
 * {@code INFO} info, {@code DEBUG} and {@code TRACE} debug).
 *
 * <p>Nothing here may slow a login or the start: {@link #write} hands each line to a bounded
 * queue and returns; a thread of its own, started at the first line, loads the native binding
 * ({@link Libc}: JNA, else FFM, some 50 ms of class loading that the handshake never waits for),
 * opens the socket and sends without waiting in the kernel ({@code MSG_DONTWAIT}). A full queue
 * drops the line and counts it, and so does a syslog still busy ({@code EAGAIN}, {@code ENOBUFS})
 * after a few short retries ({@link #sendBusy}); a syslog that is down
 * or absent is noted once in the log file and tried again at most every {@link #RETRY_NANOS}
 * (rsyslog and journald restart), the lines meanwhile dropped and counted, and the count sent
 * once it is back.
 */
final class Syslog extends OutputStream {

    /** The facilities an administrator may give, and their codes (RFC 5424, glibc's LOG_*). */
    static final String[] FACILITIES = {"mail", "daemon", "auth", "authpriv", "user",
        "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"};
    private static final int[] CODES = {2, 3, 4, 10, 1, 16, 17, 18, 19, 20, 21, 22, 23};

    static final int CAPACITY = 1024;
    static final long RETRY_NANOS = 5_000_000_000L;
    /** A line longer than this is cut: a datagram socket takes a message whole or not at all. */
    static final int MAX_MESSAGE = 8192;

    private static final String[] MONTHS = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
        "Oct", "Nov", "Dec"};

    private final int facility;
    private final Path socketPath;
    /** The log file, for the lines about syslog itself, or null. */
    private final OutputStream file;
    private final String tag = "saslauth[" + Pid.CURRENT + "]: ";
    private final ArrayBlockingQueue<byte[]> queue = new ArrayBlockingQueue<>(CAPACITY);
    private final ByteArrayOutputStream line = new ByteArrayOutputStream(256);
    private TimeZone zone;
    /** The severity of the last line that had a level, for the lines that follow it (a stack trace). */
    private int severity = 6;
    private Thread sender;

    // counted under this object's lock
    private long queued;
    private long handled;
    private long droppedFull;

    // the sender's own
    private Libc libc;
    private int fd = -1;
    private boolean down;
    private long nextAttempt;
    private long unsent;

    /**
     * @param facility a name of {@link #FACILITIES}
     * @param file where to say that syslog cannot be reached: the log file, or null
     */
    Syslog(String facility, Path socketPath, OutputStream file) {
        this.facility = code(facility);
        this.socketPath = socketPath;
        this.file = file;
    }

    /** A line about syslog itself, to the log file only. */
    private void note(String text) {
        if (file != null) {
            try {
                file.write((text + "\n").getBytes(StandardCharsets.UTF_8));
                file.flush();
            } catch (java.io.IOException e) {
                // nowhere to report it
            }
        }
    }

    /**
     * A sink for {@code facility} that waits at exit for its last lines ({@link #drainAtExit}).
     *
     * @param file the log file, or null
     */
    static Syslog open(String facility, Path socketPath, OutputStream file) {
        Syslog sink = new Syslog(facility, socketPath, file);
        Runtime.getRuntime().addShutdownHook(sink.drainAtExit(Logging.DRAIN_MILLIS));
        return sink;
    }

    /** Where the log's lines go: to {@code file} and then here, or here only when it is null. */
    OutputStream after(OutputStream file) {
        return file == null ? this : new Tee(file, this);
    }

    /** Every byte to the log file and to syslog. */
    private static final class Tee extends OutputStream {
        private final OutputStream file;
        private final OutputStream syslog;

        Tee(OutputStream file, OutputStream syslog) {
            this.file = file;
            this.syslog = syslog;
        }

        @Override
        public void write(int b) throws java.io.IOException {
            file.write(b);
            syslog.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws java.io.IOException {
            file.write(b, off, len);
            syslog.write(b, off, len);
        }

        @Override
        public void flush() throws java.io.IOException {
            file.flush();
        }

        @Override
        public void close() throws java.io.IOException {
            file.close();
        }
    }

    /** A shutdown hook that waits for the lines not yet sent, at most {@code millis}. */
    Thread drainAtExit(long millis) {
        return new Thread("saslauth-syslog-drain") {
            @Override
            public void run() {
                drain(millis);
            }
        };
    }

    /** The facility's code, or -1 for {@code none} (and for what is not a facility). */
    static int code(String facility) {
        for (int i = 0; i < FACILITIES.length; i++) {
            if (FACILITIES[i].equals(facility)) {
                return CODES[i];
            }
        }
        return -1;
    }

    @Override
    public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        int end = off + len;
        for (int i = off; i < end; i++) {
            if (b[i] == '\n') {
                line.write(b, off, i - off);
                off = i + 1;
                enqueue(line.toByteArray());
                line.reset();
            }
        }
        line.write(b, off, end - off);
    }

    /** One line of the log, without its newline, as a datagram in the queue. */
    private void enqueue(byte[] text) {
        int start = 0;
        int level = level(text);
        if (level >= 0) {
            severity = level;
            // "INFO saslauth[5316] - message": the message is after the logger's name
            for (int i = 0; i + 2 < text.length; i++) {
                if (text[i] == ' ' && text[i + 1] == '-' && text[i + 2] == ' ') {
                    start = i + 3;
                    break;
                }
            }
        }
        int length = Math.min(text.length - start, MAX_MESSAGE);
        if (length <= 0) {
            return;
        }
        byte[] header = header(facility * 8 + severity);
        byte[] datagram = new byte[header.length + length];
        System.arraycopy(header, 0, datagram, 0, header.length);
        System.arraycopy(text, start, datagram, header.length, length);
        if (!queue.offer(datagram)) {
            droppedFull++;
            return;
        }
        queued++;
        if (sender == null) {
            sender = new Thread("saslauth-syslog") {
                @Override
                public void run() {
                    send();
                }
            };
            sender.setDaemon(true);
            sender.start();
        }
    }

    /** The syslog severity of slf4j-simple's level word that starts a line, or -1. */
    static int level(byte[] text) {
        if (starts(text, "ERROR ")) {
            return 3;
        }
        if (starts(text, "WARN ")) {
            return 4;
        }
        if (starts(text, "INFO ")) {
            return 6;
        }
        if (starts(text, "DEBUG ") || starts(text, "TRACE ")) {
            return 7;
        }
        return -1;
    }

    private static boolean starts(byte[] text, String word) {
        if (text.length < word.length()) {
            return false;
        }
        for (int i = 0; i < word.length(); i++) {
            if (text[i] != word.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** {@code <PRI>Mmm dd hh:mm:ss saslauth[PID]: } in local time, as glibc writes it. */
    private byte[] header(int priority) {
        if (zone == null) {
            zone = TimeZone.getDefault();
        }
        long now = System.currentTimeMillis();
        LocalDateTime t = LocalDateTime.ofEpochSecond(Math.floorDiv(now, 1000), 0,
                ZoneOffset.ofTotalSeconds(zone.getOffset(now) / 1000));
        StringBuilder h = new StringBuilder(40).append('<').append(priority).append('>')
                .append(MONTHS[t.getMonthValue() - 1]).append(' ');
        if (t.getDayOfMonth() < 10) {
            h.append(' ');
        }
        h.append(t.getDayOfMonth()).append(' ');
        two(h, t.getHour()).append(':');
        two(h, t.getMinute()).append(':');
        two(h, t.getSecond()).append(' ');
        return h.append(tag).toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static StringBuilder two(StringBuilder h, int n) {
        return h.append((char) ('0' + n / 10)).append((char) ('0' + n % 10));
    }

    /**
     * Waits at most {@code millis} for the lines queued so far to be sent (or dropped): at exit,
     * so that a helper's last lines reach syslog.
     */
    synchronized void drain(long millis) {
        long deadline = System.nanoTime() + millis * 1_000_000;
        long left;
        while (handled < queued && (left = deadline - System.nanoTime()) > 0) {
            try {
                wait(left / 1_000_000 + 1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The sender thread: loads the binding, then sends what the queue holds, for good. */
    private void send() {
        try {
            libc = Libc.get();
            org.saslauth.Log.LOG.debug("syslog: to {} through {}", socketPath, libc.kind());
        } catch (Libc.Unavailable | RuntimeException | LinkageError e) {
            note("WARN saslauth[" + Pid.CURRENT + "] - syslog: cannot send to " + socketPath
                    + ", log lines go to the log file only: no native access (" + e.getMessage() + ")");
            libc = null;
        }
        nextAttempt = System.nanoTime();
        while (true) {
            byte[] datagram;
            try {
                datagram = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            if (libc != null) {
                try {
                    sendOne(datagram);
                } catch (RuntimeException e) {
                    unavailable(e.toString());
                    unsent++;
                }
            }
            synchronized (this) {
                handled++;
                notifyAll();
            }
        }
    }

    private void sendOne(byte[] datagram) {
        if (fd < 0 && !connect()) {
            unsent++;
            return;
        }
        long sent = sendBusy(datagram);
        if (sent < 0 && sent != -Errno.EAGAIN && sent != -Errno.ENOBUFS) {
            // the receiver went away (ECONNREFUSED: syslog restarted): a new socket, once now
            libc.close(fd);
            fd = -1;
            if (connect()) {
                sent = sendBusy(datagram);
            }
            if (sent < 0 && fd >= 0 && sent != -Errno.EAGAIN && sent != -Errno.ENOBUFS) {
                unavailable(Errno.describe((int) -sent));
                libc.close(fd);
                fd = -1;
            }
        }
        if (sent < 0) {
            unsent++;
            return;
        }
        long full;
        synchronized (this) {
            full = droppedFull;
            droppedFull = 0;
        }
        if (unsent + full > 0) {
            byte[] message = ("saslauth: " + (unsent + full) + " log lines were not sent to syslog (it was busy or"
                    + " unavailable); the log file has them if there is one").getBytes(StandardCharsets.US_ASCII);
            byte[] header = header(facility * 8 + 4);
            byte[] count = new byte[header.length + message.length];
            System.arraycopy(header, 0, count, 0, header.length);
            System.arraycopy(message, 0, count, header.length, message.length);
            if (libc.send(fd, count, count.length, Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL) >= 0) {
                unsent = 0;
            } else {
                unsent += full;
            }
        }
    }

    /**
     * Sends without waiting in the kernel; when the receiver's queue is full ({@code EAGAIN}:
     * Linux keeps 10 datagrams by default, {@code net.unix.max_dgram_qlen}, and a burst of
     * lines at start or a stack trace is more) tries again after 1, 2, 4, 8 and 16 ms, this
     * thread's time only, then gives the line up. The lines logged meanwhile wait in the queue.
     */
    private long sendBusy(byte[] datagram) {
        long sent = libc.send(fd, datagram, datagram.length, Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL);
        for (long pause = 1_000_000; (sent == -Errno.EAGAIN || sent == -Errno.ENOBUFS) && pause <= 16_000_000;
                pause *= 2) {
            java.util.concurrent.locks.LockSupport.parkNanos(pause);
            sent = libc.send(fd, datagram, datagram.length, Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL);
        }
        return sent;
    }

    /** A new socket connected to syslog, at most every {@link #RETRY_NANOS}. */
    private boolean connect() {
        long now = System.nanoTime();
        if (now - nextAttempt < 0) {
            return false;
        }
        nextAttempt = now + RETRY_NANOS;
        int s = libc.socket(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
        if (s < 0) {
            unavailable("socket: " + Errno.describe(-s));
            return false;
        }
        int connected;
        try {
            connected = libc.connect(s, Libc.unixAddress(socketPath.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (IllegalArgumentException e) {
            libc.close(s);
            unavailable(e.getMessage());
            return false;
        }
        if (connected < 0) {
            libc.close(s);
            unavailable(Errno.describe(-connected));
            return false;
        }
        fd = s;
        if (down) {
            down = false;
            note("INFO saslauth[" + Pid.CURRENT + "] - syslog: " + socketPath + " reachable again");
        }
        return true;
    }

    /** Says so in the log file once per outage. */
    private void unavailable(String why) {
        if (!down) {
            down = true;
            note("WARN saslauth[" + Pid.CURRENT + "] - syslog: " + socketPath + " is unavailable (" + why
                    + "); log lines go to the log file only, trying again every " + RETRY_NANOS / 1_000_000_000
                    + "s");
        }
    }
}
