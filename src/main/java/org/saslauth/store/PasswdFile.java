package org.saslauth.store;

import static org.saslauth.Log.LOG;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.saslauth.password.PasswordHash;
import org.saslauth.password.PasswordSchemes;

/**
 * Users from a file in Dovecot's passwd-file format:
 *
 * <pre>
 * # comment
 * user:{SCHEME}password[:uid:gid:gecos:home:shell:extra_fields]
 * </pre>
 *
 * Only the first two fields matter here. A password without {@code {SCHEME}} is CRYPT. A user
 * listed twice keeps the first line, as in Dovecot.
 *
 * <p>The file is read again when it changes, as Dovecot does: a check looks at its modification
 * time, size and inode at most once per {@link #RECHECK} (no watcher thread, which would slow
 * start-up). A file modified less than {@link #SETTLE} ago is left alone until the next look, so
 * that an edit written in place is not read half-way (an empty file would lock everyone out). A
 * changed file that cannot be used leaves the last good users in place, and the reason is logged
 * once per change.
 */
public final class PasswdFile implements CredentialStore {

    /** How often a login may look at the file's attributes. */
    public static final Duration RECHECK = Duration.ofSeconds(1);

    /** How old a change must be before it is read. */
    public static final Duration SETTLE = Duration.ofSeconds(1);

    /** A file that cannot be used: missing, unreadable, or with a line that is not a user. */
    public static final class Invalid extends Exception {
        public Invalid(String message) {
            super(message);
        }
    }

    /** The users of one version of the file, and how that version looked on disk. */
    private record Snapshot(Map<String, PasswordHash> users, Stamp stamp) {}

    /** What tells one version of the file from the next without reading it. */
    private record Stamp(long modifiedNanos, long size, Object fileKey) {
        /** A file that is gone or cannot be looked at. */
        static final Stamp MISSING = new Stamp(-1, -1, null);

        static Stamp of(Path path) throws IOException {
            BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
            return new Stamp(a.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS), a.size(),
                    a.fileKey());
        }
    }

    private final Path path;
    private final long recheckNanos;
    private final long settleMillis;
    private final LongSupplier clock;
    private final Object reloadLock = new Object();
    private volatile Snapshot current;
    private volatile long nextCheck;
    /** The stamp of the last version found broken, so that it is logged once; guarded by reloadLock. */
    private Stamp rejected;

    private PasswdFile(Path path, Snapshot first, Duration recheck, Duration settle, LongSupplier clock) {
        this.path = path;
        this.current = first;
        this.recheckNanos = recheck.toNanos();
        this.settleMillis = settle.toMillis();
        this.clock = clock;
        this.nextCheck = clock.getAsLong() + recheckNanos;
    }

    /** Reads and checks the whole file. */
    public static PasswdFile load(Path path) throws Invalid {
        return load(path, RECHECK, SETTLE, System::nanoTime);
    }

    /** {@link #load(Path)} with the intervals and monotonic clock that tests need. */
    static PasswdFile load(Path path, Duration recheck, Duration settle, LongSupplier clock) throws Invalid {
        return new PasswdFile(path, read(path), recheck, settle, clock);
    }

    private static Snapshot read(Path path) throws Invalid {
        Stamp stamp;
        List<String> lines;
        try {
            stamp = Stamp.of(path);
            lines = Files.readAllLines(path, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Invalid("cannot read passwd file " + path + ": " + describe(e));
        }
        Map<String, PasswordHash> users = new HashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank() || line.stripLeading().startsWith("#")) {
                continue;
            }
            String where = path + " line " + (i + 1);
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new Invalid(where + ": expected user:password");
            }
            String user = line.substring(0, colon);
            int end = line.indexOf(':', colon + 1);
            String field = end < 0 ? line.substring(colon + 1) : line.substring(colon + 1, end);
            if (field.isEmpty()) {
                throw new Invalid(where + ": user '" + user + "' has an empty password field");
            }
            if (users.containsKey(user)) {
                continue;
            }
            PasswordHash hash;
            try {
                hash = PasswordSchemes.parse(field, user);
            } catch (IllegalArgumentException e) {
                throw new Invalid(where + ": user '" + user + "': " + e.getMessage());
            }
            users.put(user, hash);
        }
        return new Snapshot(Map.copyOf(users), stamp);
    }

    private static String describe(IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.nio.charset.MalformedInputException) {
            return "not UTF-8";
        }
        return e.toString();
    }

    public int size() {
        return current.users().size();
    }

    @Override
    public Verdict verify(String user, byte[] password) {
        PasswordHash hash = users().get(user);
        if (hash == null) {
            return Verdict.UNKNOWN_USER;
        }
        return hash.matches(password) ? Verdict.ACCEPTED : Verdict.WRONG_PASSWORD;
    }

    @Override
    public Lookup lookup(String user) {
        PasswordHash hash = users().get(user);
        return hash == null ? new Lookup.UnknownUser() : new Lookup.Found(hash);
    }

    /** Reads the file again now if it changed, however recent the last look or the change. */
    @Override
    public void reload() {
        synchronized (reloadLock) {
            nextCheck = clock.getAsLong() + recheckNanos;
            reloadIfChanged(true);
        }
    }

    /** The users, read again first if the file changed and the last look is old enough. */
    private Map<String, PasswordHash> users() {
        if (clock.getAsLong() - nextCheck >= 0) {
            synchronized (reloadLock) {
                long now = clock.getAsLong();
                if (now - nextCheck >= 0) {
                    nextCheck = now + recheckNanos;
                    reloadIfChanged(false);
                }
            }
        }
        return current.users();
    }

    /** Called with reloadLock held. */
    private void reloadIfChanged(boolean now) {
        Stamp stamp;
        try {
            stamp = Stamp.of(path);
        } catch (IOException e) {
            stamp = Stamp.MISSING;
        }
        if (stamp.equals(current.stamp()) || stamp.equals(rejected)) {
            return;
        }
        // a future mtime (clock skew, touch -d) counts as settled, or it would never be read
        long ageMillis = System.currentTimeMillis() - stamp.modifiedNanos() / 1_000_000;
        if (!now && stamp != Stamp.MISSING && ageMillis >= 0 && ageMillis < settleMillis) {
            return; // maybe still being written: look again next time
        }
        try {
            Snapshot next = read(path);
            current = next;
            rejected = null;
            LOG.info("passwd file {} reloaded: {} users", path, next.users().size());
        } catch (Invalid e) {
            LOG.warn("passwd file changed but cannot be used, keeping the last good version: {}",
                    e.getMessage());
            rejected = stamp;
        }
    }
}
