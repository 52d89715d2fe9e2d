package org.saslauth.cli;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import org.saslauth.protocol.Scheduler;

/**
 * The log file, opened for appending, reopened when log rotation moved it away: when its path
 * names another file than the one open (another inode: logrotate's {@code create}) or no file
 * at all, the next write goes to a fresh file at the path. Helpers under spawn(8) and the daemon
 * keep their log open for hours, so they cannot wait to be restarted.
 *
 * <p>The path is looked at from a write at most once per {@link #CHECK_INTERVAL_NANOS}, one
 * stat(2) then: a helper that logs nothing pays nothing, a busy one one call a second. Lines
 * written before the check go to the rotated file, which logrotate's {@code delaycompress} keeps
 * as it is until the next rotation; none is lost.
 */
final class LogFile extends OutputStream {

    static final long CHECK_INTERVAL_NANOS = 1_000_000_000L;

    private final Path path;
    private final long checkIntervalNanos;
    private final Scheduler clock;
    private FileOutputStream out;
    /** The open file's identity (device and inode), or null when it could not be read. */
    private Object key;
    private long lastCheck;

    /** @throws IOException when the file cannot be opened for appending */
    LogFile(Path path) throws IOException {
        this(path, CHECK_INTERVAL_NANOS, Scheduler.system());
    }

    /** @param clock what the interval is measured on: the system's, or a test's moved by hand */
    LogFile(Path path, long checkIntervalNanos, Scheduler clock) throws IOException {
        this.path = path;
        this.checkIntervalNanos = checkIntervalNanos;
        this.clock = clock;
        this.out = new FileOutputStream(path.toFile(), true);
        this.key = keyOf(path);
        this.lastCheck = clock.nanoTime();
    }

    @Override
    public synchronized void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
        long now = clock.nanoTime();
        if (now - lastCheck >= checkIntervalNanos) {
            lastCheck = now;
            reopenIfMoved();
        }
        out.write(b, off, len);
    }

    private void reopenIfMoved() {
        Object current;
        try {
            current = keyOf(path);
        } catch (NoSuchFileException e) {
            current = null;
        } catch (IOException e) {
            return; // cannot tell: keep the file that is open
        }
        if (current != null && current.equals(key)) {
            return;
        }
        FileOutputStream fresh;
        try {
            fresh = new FileOutputStream(path.toFile(), true);
        } catch (IOException e) {
            return; // the directory is gone or not writable: keep writing where we can
        }
        FileOutputStream old = out;
        out = fresh;
        try {
            key = keyOf(path);
        } catch (IOException e) {
            key = null;
        }
        try {
            old.close();
        } catch (IOException e) {
            // the old file got what was written to it
        }
    }

    private static Object keyOf(Path path) throws IOException {
        return Files.readAttributes(path, BasicFileAttributes.class).fileKey();
    }

    @Override
    public synchronized void flush() throws IOException {
        out.flush();
    }

    @Override
    public synchronized void close() throws IOException {
        out.close();
    }
}
