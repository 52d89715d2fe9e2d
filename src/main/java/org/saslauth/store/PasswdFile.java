package org.saslauth.store;

import static org.saslauth.Log.LOG;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.saslauth.Deadline;
import org.saslauth.password.CostlyChecks;
import org.saslauth.password.Match;
import org.saslauth.password.PasswordHash;
import org.saslauth.password.PasswordSchemes;
import org.saslauth.password.ScramHash;
import org.saslauth.password.ScramShape;
import org.saslauth.Log;
import org.saslauth.Text;

/**
 * Users from a file in Dovecot's passwd-file format:
 *
 * <pre>
 * # comment
 * user:{SCHEME}password[:uid:gid:gecos:home:shell:extra_fields]
 * </pre>
 *
 * Only the first two fields matter here. A password without {@code {SCHEME}} is CRYPT. A user
 * listed twice keeps the first line, as in Dovecot, and the later lines are named in the log. A
 * UTF-8 byte order mark at the start is skipped. Only a regular file (or a link to one) of at most
 * {@link #MAX_BYTES} bytes and {@link #MAX_USERS} users is read, and its type and size are looked
 * at before it is opened: opening a FIFO would wait for a writer, and reading a device or a file
 * grown by mistake would exhaust the heap.
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

    /**
     * The largest file read, so that a file that grew by mistake (or a device in its place)
     * cannot exhaust the heap: 8 MiB holds some 45,000 lines of SHA512-CRYPT users with all
     * seven fields.
     */
    public static final int MAX_BYTES = 8 * 1024 * 1024;

    /**
     * The most users one file may hold. A user takes 200 to 500 bytes of heap once parsed
     * (measured: 50,000 SHA512-CRYPT users 23 MB, 300,000 {@code {PLAIN}} users 60 MB), and the
     * launcher's {@code -Xmx128m} must hold two versions during a reload besides the 64 MiB an
     * ARGON2ID check at doveadm's default cost takes: 40,000 users stay under 20 MB.
     */
    public static final int MAX_USERS = 40_000;

    /** Duplicate users named one by one in the log; the rest are counted. */
    private static final int DUPLICATES_NAMED = 5;

    /** A file that cannot be used: missing, unreadable, or with a line that is not a user. */
    public static final class Invalid extends Exception {
        public Invalid(String message) {
            super(message);
        }
    }

    /**
     * The users of one version of the file, how that version looked on disk, its costliest
     * entry (null for a file without users), which an unknown user's password is checked against,
     * and the shape of its most common SCRAM entry of each hash, which SCRAM shows users without
     * keys of their own.
     */
    private record Snapshot(Map<String, PasswordHash> users, Stamp stamp, PasswordHash costliest,
            Map<ScramHash, ScramShape> scramShapes) {}

    /** What tells one version of the file from the next without reading it. */
    record Stamp(long modifiedNanos, long size, Object fileKey) {
        /** A file that is gone or cannot be looked at. */
        static final Stamp MISSING = new Stamp(-1, -1, null);

        static Stamp of(Path path) throws IOException {
            return of(Files.readAttributes(path, BasicFileAttributes.class));
        }

        static Stamp of(BasicFileAttributes a) {
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

    /**
     * Reads one version of the file. Its type and size are checked before it is opened, so that
     * a FIFO (whose open would wait for a writer) or a device is refused rather than read; the
     * read itself stops one byte past the limit, in case the file grew in between.
     */
    private static Snapshot read(Path path) throws Invalid {
        BasicFileAttributes attributes;
        byte[] content;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class);
            if (!attributes.isRegularFile()) {
                throw new Invalid("passwd file " + path + " is " + kind(path, attributes) + ", not a regular file");
            }
            if (attributes.size() > MAX_BYTES) {
                throw new Invalid(tooLarge(path));
            }
            try (InputStream in = Files.newInputStream(path)) {
                content = in.readNBytes(MAX_BYTES + 1);
            }
        } catch (IOException e) {
            throw new Invalid("cannot read passwd file " + path + ": " + Text.describe(e));
        }
        if (content.length > MAX_BYTES) {
            throw new Invalid(tooLarge(path));
        }
        return parse(path, content, Stamp.of(attributes));
    }

    private static String tooLarge(Path path) {
        return "passwd file " + path + " is larger than " + MAX_BYTES / 1_048_576 + " MiB";
    }

    private static Snapshot parse(Path path, byte[] content, Stamp stamp) throws Invalid {
        BufferedReader lines = new BufferedReader(new InputStreamReader(new ByteArrayInputStream(content),
                StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)));
        Map<String, PasswordHash> users = new HashMap<>();
        Map<String, Integer> firstLine = new HashMap<>();
        List<String> duplicates = new ArrayList<>();
        int duplicateCount = 0;
        PasswordHash costliest = null;
        ScramShapes scramShapes = new ScramShapes();
        int number = 0;
        try {
            for (String line; (line = lines.readLine()) != null; ) {
                number++;
                if (number == 1 && line.startsWith("\uFEFF")) {
                    line = line.substring(1); // a UTF-8 byte order mark, as some Windows editors write
                }
                if (line.isBlank() || line.stripLeading().startsWith("#")) {
                    continue;
                }
                String where = path + " line " + number;
                int colon = line.indexOf(':');
                if (colon <= 0) {
                    throw new Invalid(where + ": expected user:password");
                }
                String user = line.substring(0, colon);
                int end = line.indexOf(':', colon + 1);
                String field = end < 0 ? line.substring(colon + 1) : line.substring(colon + 1, end);
                if (field.isEmpty()) {
                    throw new Invalid(where + ": user " + Log.quote(user) + " has an empty password field");
                }
                Integer first = firstLine.get(user);
                if (first != null) {
                    if (duplicateCount++ < DUPLICATES_NAMED) {
                        duplicates.add(where + ": user " + Log.quote(user) + " is listed again (first on line "
                                + first + "); the first line counts, as in Dovecot");
                    }
                    continue;
                }
                if (users.size() == MAX_USERS) {
                    throw new Invalid("passwd file " + path + " holds more than " + MAX_USERS + " users");
                }
                PasswordHash hash;
                try {
                    hash = PasswordSchemes.parse(field, user);
                } catch (IllegalArgumentException e) {
                    throw new Invalid(where + ": user " + Log.quote(user) + ": " + e.getMessage());
                }
                users.put(user, hash);
                firstLine.put(user, number);
                if (costliest == null || hash.cost() > costliest.cost()) {
                    costliest = hash;
                }
                Optional<ScramShapes.Kind> kind = ScramShapes.of(hash);
                if (kind.isPresent()) {
                    scramShapes.add(kind.get());
                }
            }
        } catch (IOException e) { // from the decoder: the bytes are in memory
            throw new Invalid("cannot read passwd file " + path + ": " + Text.describe(e));
        }
        for (String duplicate : duplicates) {
            LOG.warn("{}", duplicate);
        }
        if (duplicateCount > DUPLICATES_NAMED) {
            LOG.warn("passwd file {}: {} more users listed again", path, duplicateCount - DUPLICATES_NAMED);
        }
        return new Snapshot(Map.copyOf(users), stamp, costliest, scramShapes.mostCommon());
    }

    /** What a path that is not a regular file is, for the log: FIFO, device, directory... */
    private static String kind(Path path, BasicFileAttributes attributes) {
        if (attributes.isDirectory()) {
            return "a directory";
        }
        try {
            int type = (Integer) Files.getAttribute(path, "unix:mode") & 0170000;
            switch (type) {
                case 0010000:
                    return "a FIFO";
                case 0020000:
                case 0060000:
                    return "a device";
                case 0140000:
                    return "a socket";
                default:
                    break;
            }
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            // no unix view: say less
        }
        return "a special file";
    }

    public int size() {
        return current.users().size();
    }

    /**
     * Checks a password. An unknown user's password is checked against the file's costliest
     * entry and the result dropped, so that the time of the answer does not tell an unknown user
     * from a known one: with one scheme and cost in the file, both run the same hash on the same
     * password; with several, an unknown user takes as long as the slowest.
     */
    @Override
    public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
        Snapshot snapshot = snapshot();
        PasswordHash hash = snapshot.users().get(user);
        if (hash == null) {
            if (snapshot.costliest() != null
                    && slots.check(snapshot.costliest(), password, deadline) == Match.TOO_BUSY) {
                return Verdict.OVERLOADED; // as a known user's would be
            }
            return Verdict.UNKNOWN_USER;
        }
        return switch (slots.check(hash, password, deadline)) {
            case MATCHED -> Verdict.ACCEPTED;
            case NOT_MATCHED -> Verdict.WRONG_PASSWORD;
            case TOO_BUSY -> Verdict.OVERLOADED;
        };
    }

    /** Answers at once from memory, whatever the deadline. */
    @Override
    public Lookup lookup(String user, Deadline deadline) {
        PasswordHash hash = snapshot().users().get(user);
        return hash == null ? new Lookup.UnknownUser() : new Lookup.Found(hash);
    }

    /** The shape of the file's most common SCRAM entry for {@code hash}, found when it was read. */
    @Override
    public ScramShape scramShape(ScramHash hash) {
        return snapshot().scramShapes().get(hash);
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
    private Snapshot snapshot() {
        if (clock.getAsLong() - nextCheck >= 0) {
            synchronized (reloadLock) {
                long now = clock.getAsLong();
                if (now - nextCheck >= 0) {
                    nextCheck = now + recheckNanos;
                    reloadIfChanged(false);
                }
            }
        }
        return current;
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
