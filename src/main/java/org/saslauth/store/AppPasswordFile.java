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
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongSupplier;
import org.saslauth.Deadline;
import org.saslauth.Log;
import org.saslauth.Text;
import org.saslauth.password.PasswordHash;
import org.saslauth.password.PasswordSchemes;
import org.saslauth.protocol.Networks;

/**
 * App passwords in a file, one a line, in the spirit of Dovecot's passwd-file:
 *
 * <pre>
 * # comment
 * user:name:{SCHEME}hash[:field=value field=value ...]
 * alice@example.org:phone:{ARGON2ID}$argon2id$v=19$m=8192,t=1,p=1$...$...:networks=192.0.2.0/24,2001:db8::/32 services=smtp expires=2027-07-01T00:00:00Z created=2026-12-03T08:30:00Z
 * </pre>
 *
 * The first three fields are the user, the app password's name and its hash, which never holds
 * a colon; the rest of the line, colons and all (IPv6 networks, times), is space-separated
 * fields, as Dovecot's extra fields are: {@code networks} (CIDR,...), {@code services}
 * ({@code smtp,imap}), {@code expires}, {@code created} and {@code revoked}, times as ISO-8601
 * instants, or for {@code expires} a date, which it lasts through (UTC). A field this file does
 * not know is an error, so that a misspelt {@code networks} never lets a password in from
 * anywhere. A name listed twice for a user keeps the first line, and the later ones are logged.
 *
 * <p>The file is read again when it changes, as {@link PasswdFile} is: a look at its stamp at most
 * once per {@link PasswdFile#RECHECK}, a change read once it is {@link PasswdFile#SETTLE} old, a
 * changed file that cannot be used leaving the last good version in place. A file that does not
 * exist holds no app password; one that exists but cannot be read (its mode, a line that is not an
 * app password) at start makes every login a temporary failure until it can be.
 */
public final class AppPasswordFile implements AppPasswords {

    /** The most lines of app passwords one file may hold. */
    public static final int MAX_ENTRIES = 40_000;

    /** The fields after the hash, in the order they are written. */
    static final List<String> FIELDS = List.of("networks", "services", "expires", "created", "revoked");

    /** A file that cannot be used: unreadable, too large, or with a line that is not an app password. */
    public static final class Invalid extends Exception {
        private static final long serialVersionUID = 1L;

        public Invalid(String message) {
            super(message);
        }
    }

    /**
     * One version of the file: the users' app passwords, or null when it could not be used
     * (then {@code reason} says why), and its stamp.
     */
    private record Snapshot(Map<String, List<AppPassword>> users, PasswdFile.Stamp stamp, String reason) {}

    private final Path path;
    private final long recheckNanos;
    private final long settleMillis;
    private final LongSupplier clock;
    private final Object reloadLock = new Object();
    private volatile Snapshot current;
    private volatile long nextCheck;
    /** The stamp of the last version found broken, so that it is logged once; guarded by reloadLock. */
    private PasswdFile.Stamp rejected;

    private AppPasswordFile(Path path, Snapshot first, Duration recheck, Duration settle, LongSupplier clock) {
        this.path = path;
        this.current = first;
        this.recheckNanos = recheck.toNanos();
        this.settleMillis = settle.toMillis();
        this.clock = clock;
        this.nextCheck = clock.getAsLong() + recheckNanos;
    }

    /** Reads the whole file; a missing one holds no app password. */
    public static AppPasswordFile load(Path path) throws Invalid {
        return load(path, PasswdFile.RECHECK, PasswdFile.SETTLE, System::nanoTime);
    }

    static AppPasswordFile load(Path path, Duration recheck, Duration settle, LongSupplier clock) throws Invalid {
        return new AppPasswordFile(path, read(path), recheck, settle, clock);
    }

    /**
     * {@link #load}, for serving: a file that cannot be used is logged, and every login whose
     * user it would be asked about is a temporary failure until it can.
     */
    public static AppPasswordFile open(Path path) {
        try {
            return load(path);
        } catch (Invalid e) {
            LOG.error("{}; every login gets a temporary failure until this is fixed", e.getMessage());
            return new AppPasswordFile(path, new Snapshot(null, PasswdFile.Stamp.MISSING, e.getMessage()),
                    PasswdFile.RECHECK, PasswdFile.SETTLE, System::nanoTime);
        }
    }

    /** The app passwords of every user, as last read; empty while the file cannot be used. */
    public Map<String, List<AppPassword>> all() {
        Snapshot s = snapshot();
        return s.users() == null ? Map.of() : s.users();
    }

    @Override
    public Entries of(String user, Deadline deadline) {
        Snapshot s = snapshot();
        if (s.users() == null) {
            return new Entries.Unavailable();
        }
        return new Entries.Found(s.users().getOrDefault(user, List.of()));
    }

    @Override
    public void reload() {
        synchronized (reloadLock) {
            nextCheck = clock.getAsLong() + recheckNanos;
            reloadIfChanged(true);
        }
    }

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

    /**
     * Called with reloadLock held. While the file cannot be used it is tried at each look,
     * changed or not (a mode fixed leaves its stamp alone), and a new reason is logged once.
     */
    private void reloadIfChanged(boolean now) {
        PasswdFile.Stamp stamp;
        try {
            stamp = PasswdFile.Stamp.of(path);
        } catch (IOException e) {
            stamp = PasswdFile.Stamp.MISSING;
        }
        boolean unusable = current.users() == null;
        if (!unusable && (stamp.equals(current.stamp()) || stamp.equals(rejected))) {
            return;
        }
        // a future mtime (clock skew, touch -d) counts as settled, or it would never be read
        long ageMillis = System.currentTimeMillis() - stamp.modifiedNanos() / 1_000_000;
        if (!now && stamp != PasswdFile.Stamp.MISSING && ageMillis >= 0 && ageMillis < settleMillis) {
            return; // maybe still being written: look again next time
        }
        try {
            Snapshot next = read(path);
            current = next;
            rejected = null;
            LOG.info("app passwords file {} {}: {} app passwords", path, unusable ? "can be read now" : "reloaded",
                    count(next.users()));
        } catch (Invalid e) {
            if (!unusable) {
                LOG.warn("app passwords file changed but cannot be used, keeping the last good version: {}",
                        e.getMessage());
                rejected = stamp;
            } else if (!e.getMessage().equals(current.reason())) {
                LOG.error("{}; every login gets a temporary failure until this is fixed", e.getMessage());
                current = new Snapshot(null, PasswdFile.Stamp.MISSING, e.getMessage());
            }
        }
    }

    private static int count(Map<String, List<AppPassword>> users) {
        int n = 0;
        for (List<AppPassword> l : users.values()) {
            n += l.size();
        }
        return n;
    }

    private static Snapshot read(Path path) throws Invalid {
        BasicFileAttributes attributes;
        byte[] content;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            return new Snapshot(Map.of(), PasswdFile.Stamp.MISSING, null);
        } catch (IOException e) {
            throw new Invalid("cannot read app passwords file " + path + ": " + Text.describe(e));
        }
        try {
            if (!attributes.isRegularFile()) {
                throw new Invalid("app passwords file " + path + " is not a regular file");
            }
            if (attributes.size() > PasswdFile.MAX_BYTES) {
                throw new Invalid(tooLarge(path));
            }
            try (InputStream in = Files.newInputStream(path)) {
                content = in.readNBytes(PasswdFile.MAX_BYTES + 1);
            }
        } catch (IOException e) {
            throw new Invalid("cannot read app passwords file " + path + ": " + Text.describe(e));
        }
        if (content.length > PasswdFile.MAX_BYTES) {
            throw new Invalid(tooLarge(path));
        }
        return new Snapshot(parse(path, content), PasswdFile.Stamp.of(attributes), null);
    }

    private static String tooLarge(Path path) {
        return "app passwords file " + path + " is larger than " + PasswdFile.MAX_BYTES / 1_048_576 + " MiB";
    }

    /** The app passwords of a file's content, by user, each user's in the order of the file. */
    static Map<String, List<AppPassword>> parse(Path path, byte[] content) throws Invalid {
        BufferedReader lines = new BufferedReader(new InputStreamReader(new ByteArrayInputStream(content),
                StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)));
        Map<String, List<AppPassword>> users = new HashMap<>();
        Set<String> seen = new HashSet<>();
        int entries = 0;
        int number = 0;
        try {
            for (String line; (line = lines.readLine()) != null; ) {
                number++;
                if (number == 1 && line.startsWith("\uFEFF")) {
                    line = line.substring(1);
                }
                if (line.isBlank() || line.stripLeading().startsWith("#")) {
                    continue;
                }
                String where = path + " line " + number;
                AppPassword p = parseLine(line, where);
                if (!seen.add(p.user() + ":" + p.name())) {
                    LOG.warn("{}: app password {} of user {} is listed again; the first line counts", where,
                            Log.quote(p.name()), Log.quote(p.user()));
                    continue;
                }
                if (++entries > MAX_ENTRIES) {
                    throw new Invalid("app passwords file " + path + " holds more than " + MAX_ENTRIES + " app passwords");
                }
                users.computeIfAbsent(p.user(), u -> new ArrayList<>()).add(p);
            }
        } catch (IOException e) {
            throw new Invalid("cannot read app passwords file " + path + ": " + Text.describe(e));
        }
        Map<String, List<AppPassword>> frozen = new HashMap<>();
        for (Map.Entry<String, List<AppPassword>> e : users.entrySet()) {
            frozen.put(e.getKey(), List.copyOf(e.getValue()));
        }
        return Map.copyOf(frozen);
    }

    /**
     * One line of the file, not a comment.
     *
     * @param where how a message names the line ({@code FILE line N})
     */
    public static AppPassword parseLine(String line, String where) throws Invalid {
        String[] f = line.split(":", 4);
        if (f.length < 3) {
            throw new Invalid(where + ": expected user:name:{SCHEME}hash[:fields]");
        }
        String user = f[0];
        String name = f[1];
        if (user.isEmpty() || !printable(user)) {
            throw new Invalid(where + ": the user is empty or holds a space or control character");
        }
        if (!AppPassword.validName(name)) {
            throw new Invalid(where + ": user " + Log.quote(user) + ": the name " + Log.quote(name)
                    + " is not 1 to " + AppPassword.MAX_NAME + " letters, digits, '.', '_', '-' or '@'");
        }
        String which = where + ": app password " + Log.quote(name) + " of user " + Log.quote(user);
        if (!f[2].startsWith("{")) {
            throw new Invalid(which + ": the hash must start with its {SCHEME}");
        }
        PasswordHash hash;
        try {
            hash = PasswordSchemes.parse(f[2], user);
        } catch (IllegalArgumentException e) {
            throw new Invalid(which + ": " + e.getMessage());
        }
        Map<String, String> fields = new HashMap<>();
        if (f.length == 4) {
            for (String word : f[3].strip().split(" +")) {
                if (word.isEmpty()) {
                    continue;
                }
                int eq = word.indexOf('=');
                String key = eq < 0 ? word : word.substring(0, eq);
                if (eq <= 0 || !FIELDS.contains(key)) {
                    throw new Invalid(which + ": unknown field " + Log.quote(key) + " (known: "
                            + String.join(", ", FIELDS) + ", each as key=value)");
                }
                if (fields.put(key, word.substring(eq + 1)) != null) {
                    throw new Invalid(which + ": field " + key + " is given twice");
                }
            }
        }
        Optional<Networks> networks = Optional.empty();
        String nets = fields.get("networks");
        if (nets != null) {
            try {
                Networks n = Networks.parse(nets);
                if (n.isEmpty()) {
                    throw new IllegalArgumentException("no network listed");
                }
                networks = Optional.of(n);
            } catch (IllegalArgumentException e) {
                throw new Invalid(which + ": networks: " + e.getMessage());
            }
        }
        List<String> services = List.of();
        String list = fields.get("services");
        if (list != null) {
            try {
                services = services(list);
            } catch (IllegalArgumentException e) {
                throw new Invalid(which + ": services: " + e.getMessage());
            }
        }
        return new AppPassword(user, name, hash, networks, services, time(fields, "expires", true, which),
                time(fields, "created", false, which), time(fields, "revoked", false, which));
    }

    private static boolean printable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Text.isControl(c) || c == ' ') {
                return false;
            }
        }
        return true;
    }

    /** A comma-separated list of services, lower case: letters, digits and {@code -}. */
    public static List<String> services(String list) {
        List<String> out = new ArrayList<>();
        for (String s : list.split(",")) {
            String name = s.strip().toLowerCase(Locale.ROOT);
            if (name.isEmpty()) {
                continue;
            }
            if (!name.matches("[a-z0-9-]{1,32}")) {
                throw new IllegalArgumentException("'" + name + "' is not a service name such as smtp or imap");
            }
            if (!out.contains(name)) {
                out.add(name);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no service listed");
        }
        return List.copyOf(out);
    }

    private static Optional<Instant> time(Map<String, String> fields, String key, boolean dateAllowed, String which)
            throws Invalid {
        String v = fields.get(key);
        if (v == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(time(v, dateAllowed));
        } catch (IllegalArgumentException e) {
            throw new Invalid(which + ": " + key + ": " + e.getMessage());
        }
    }

    /**
     * An ISO-8601 instant ({@code 2027-07-01T00:00:00Z}), or where {@code dateAllowed} a date
     * ({@code 2027-06-30}), which lasts through that day, UTC: the instant its next day begins.
     */
    public static Instant time(String v, boolean dateAllowed) {
        try {
            return Instant.parse(v);
        } catch (DateTimeParseException e) {
            if (dateAllowed) {
                try {
                    return LocalDate.parse(v).plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
                } catch (DateTimeParseException e2) {
                    // the message below
                }
            }
        }
        throw new IllegalArgumentException("'" + v + "' is not " + (dateAllowed ? "a date such as 2027-06-30 or " : "")
                + "a time such as 2027-06-30T12:00:00Z");
    }

    /**
     * A line of the file for a new app password, its fields in the order of {@link #FIELDS}.
     *
     * @param hash the {@code {SCHEME}} hash, never the password
     */
    public static String line(String user, String name, String hash, Optional<String> networks, List<String> services,
            Optional<Instant> expires, Instant created) {
        StringBuilder out = new StringBuilder(user).append(':').append(name).append(':').append(hash).append(':');
        networks.ifPresent(n -> out.append("networks=").append(n.replace(" ", "")).append(' '));
        if (!services.isEmpty()) {
            out.append("services=").append(String.join(",", services)).append(' ');
        }
        expires.ifPresent(e -> out.append("expires=").append(e).append(' '));
        out.append("created=").append(created);
        return out.toString();
    }
}
