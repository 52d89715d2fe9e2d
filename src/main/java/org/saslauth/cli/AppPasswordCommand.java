package org.saslauth.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.saslauth.Log;
import org.saslauth.password.PasswordSchemes;
import org.saslauth.protocol.Networks;
import org.saslauth.store.AppPassword;
import org.saslauth.store.AppPasswordFile;
import org.saslauth.store.UserNameFormat;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code saslauth app-password add|list|revoke}: the app passwords of the file that the servers'
 * config file names ({@code app-passwords-file}). {@code add} makes the password itself and
 * keeps only its hash; the file is rewritten whole, through a new file renamed over it, so that
 * a server reading it meanwhile sees the old version or the new one, never half of one.
 */
@Command(name = "app-password", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {
            "Add, list and revoke the app passwords of app-passwords-file.",
            "An app password is a password per device or program, limited to networks,",
            "services and an expiry, revocable on its own, checked before the passdb.",
            "add makes one and prints it once; list shows them (never a password or hash);",
            "revoke ends one."
        },
        subcommands = {AppPasswordCommand.Add.class, AppPasswordCommand.List.class, AppPasswordCommand.Revoke.class},
        footer = {"", ExitCodes.HELP})
final class AppPasswordCommand implements Callable<Integer> {

    /**
     * The memory cost (KiB) and passes of the Argon2id hash of a generated password: an app
     * password has some 79 bits of entropy, which no stretching would make harder to guess, so
     * its hash is made cheap to check (some 20 ms) and a login checks each of a user's app
     * passwords in turn without nearing Postfix's 10-second limit.
     */
    static final int ARGON2_MEMORY_KIB = 8 * 1024;
    static final int ARGON2_PASSES = 1;

    /**
     * Lower-case letters and digits without the look-alikes {@code 0 o 1 l i}: typed on a phone
     * without a shift key, read aloud or from a screen without doubt.
     */
    static final String ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return ExitCodes.USAGE;
    }

    /**
     * A new app password: four groups of four characters of {@link #ALPHABET} joined by
     * {@code -} ({@code k7qm-2xwe-h9tz-p4rn}), 16 random characters of 31 kinds, about 79 bits,
     * from {@link SecureRandom}; the groups are what Google and Apple show their app passwords
     * in, easy to copy by hand into a phone. The caller wipes it.
     */
    static byte[] generate(SecureRandom random) {
        byte[] out = new byte[19];
        int at = 0;
        for (int group = 0; group < 4; group++) {
            if (group > 0) {
                out[at++] = '-';
            }
            for (int i = 0; i < 4; i++) {
                out[at++] = (byte) ALPHABET.charAt(random.nextInt(ALPHABET.length()));
            }
        }
        return out;
    }

    /** The options every subcommand takes: where the servers' config file is, or the file itself. */
    static class FileOptions {
        @Option(names = "--config", paramLabel = "FILE",
                description = "The servers' config file, whose app-passwords-file is used"
                        + " (default: /etc/saslauth/saslauth.properties).")
        Path config;

        @Option(names = "--app-passwords-file", paramLabel = "FILE",
                description = "The app passwords file itself, instead of the config file's.")
        Path file;
    }

    /** What a subcommand works on: the file, and the name rules of the servers. */
    record Target(Path file, UserNameFormat names, Optional<Path> passwdFile) {}

    /** The file and name rules the options and the config file give; empty (and said why) when none. */
    static Optional<Target> target(FileOptions f, PrintWriter err) {
        Path configFile = f.config != null ? f.config : CheckCommand.PACKAGED_CONFIG;
        Options o = Options.defaults(ServingOption.For.SERVE);
        if (f.config != null || Files.exists(configFile)) {
            String[] args = {"--config", configFile.toString()};
            try {
                ConfigFile.Contents contents = ConfigFile.of(args);
                if (!contents.problems().isEmpty()) {
                    err.println("saslauth app-password: " + String.join("; ", contents.problems()));
                    return Optional.empty();
                }
                Optional<Options> parsed = ServingArgs.parse(args, contents);
                if (parsed.isEmpty()) {
                    err.println("saslauth app-password: config file " + configFile
                            + ": a value cannot be read; saslauth check says which");
                    return Optional.empty();
                }
                o = parsed.get().from(contents, args);
            } catch (ConfigFile.Invalid e) {
                err.println("saslauth app-password: " + e.getMessage());
                return Optional.empty();
            }
        }
        Path file = f.file != null ? f.file : o.path(ServingOption.APP_PASSWORDS_FILE);
        if (file == null) {
            String query = o.string(ServingOption.APP_PASSWORD_QUERY);
            err.println("saslauth app-password: " + (query != null && !query.isBlank()
                    ? "the app passwords are in the database (app-password-query in " + configFile
                            + "): add and revoke them there; saslauth hash makes a hash for a row"
                    : "no app-passwords-file in " + configFile + "; set it there, or give --app-passwords-file FILE"));
            return Optional.empty();
        }
        UserNameFormat names = new UserNameFormat(o.nameFormat() == ServingOption.NameFormat.LOWERCASE,
                Optional.ofNullable(o.string(ServingOption.DEFAULT_REALM)));
        return Optional.of(new Target(file, names, Optional.ofNullable(o.path(ServingOption.PASSWD_FILE))));
    }

    /** A user name as the servers would look it up, or empty (said why) when none could be. */
    static Optional<String> user(String given, Target t, PrintWriter err) {
        if (given.isEmpty() || given.indexOf(':') >= 0 || given.indexOf(' ') >= 0 || given.chars().anyMatch(
                c -> org.saslauth.Text.isControl(c))) {
            err.println("saslauth app-password: " + Log.quote(given) + " cannot be a user name here"
                    + " (empty, or holding ':', a space or a control character)");
            return Optional.empty();
        }
        return Optional.of(t.names().apply(given));
    }

    /** The file's lines, or none when it does not exist yet. */
    static java.util.List<String> lines(Path file) throws IOException {
        try {
            return new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            return new ArrayList<>();
        }
    }

    /** The app passwords of the file, each with the index of its line; the file's first error thrown. */
    static Map<Integer, AppPassword> parsed(Path file, java.util.List<String> lines) throws AppPasswordFile.Invalid {
        Map<Integer, AppPassword> out = new TreeMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = i == 0 && lines.get(0).startsWith("\uFEFF") ? lines.get(0).substring(1) : lines.get(i);
            if (line.isBlank() || line.stripLeading().startsWith("#")) {
                continue;
            }
            out.put(i, AppPasswordFile.parseLine(line, file + " line " + (i + 1)));
        }
        return out;
    }

    static Optional<Map.Entry<Integer, AppPassword>> find(Map<Integer, AppPassword> entries, String user, String name) {
        for (Map.Entry<Integer, AppPassword> e : entries.entrySet()) {
            if (e.getValue().user().equals(user) && e.getValue().name().equals(name)) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    /**
     * Writes {@code lines} as the new {@code file}: a file beside it, with the old one's mode,
     * owner and group (for a new file those of {@code like}, the passwd file, else 0600), synced
     * and renamed over it. Refused when the file changed since {@code before} was read, so that
     * two commands at once never lose one's change.
     *
     * @return a note for the administrator about the new file's mode, or empty
     */
    static Optional<String> write(Path file, java.util.List<String> before, java.util.List<String> lines,
            Optional<Path> like) throws IOException {
        Path target = Files.isSymbolicLink(file) ? file.toRealPath() : file;
        Path dir = target.toAbsolutePath().getParent();
        Path from = Files.exists(target) ? target : like.filter(Files::isRegularFile).orElse(null);
        Path temp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        try {
            Optional<String> note = Optional.empty();
            PosixFileAttributeView view = Files.getFileAttributeView(temp, PosixFileAttributeView.class);
            if (from != null) {
                PosixFileAttributes a = Files.readAttributes(from, PosixFileAttributes.class);
                Set<PosixFilePermission> mode = a.permissions();
                mode.remove(PosixFilePermission.OTHERS_READ); // never readable by everyone, whatever it was
                mode.remove(PosixFilePermission.OTHERS_WRITE);
                mode.remove(PosixFilePermission.OTHERS_EXECUTE);
                UserPrincipal owner = a.owner();
                GroupPrincipal group = a.group();
                try {
                    view.setGroup(group);
                    view.setOwner(owner);
                } catch (IOException e) {
                    throw new IOException("cannot give the new " + target + " the owner " + owner.getName() + ":"
                            + group.getName() + " of " + from + " (run this as root or as that user): " + e.getMessage());
                }
                Files.setPosixFilePermissions(temp, mode);
                if (from != target) {
                    boolean othersRead = a.permissions().contains(PosixFilePermission.OTHERS_READ);
                    note = Optional.of("made " + target + " with the owner, group and mode of " + from
                            + (othersRead ? ", but not readable by others: the user the servers run as must be "
                                    + owner.getName() + " or in group " + group.getName()
                                    + " (saslauth check says whether it can read it)" : ""));
                }
            } else {
                Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-------"));
                note = Optional.of("made " + target + " with mode 0600: the user the servers run as must be able"
                        + " to read it (saslauth check says whether it can)");
            }
            Files.write(temp, (String.join("\n", lines) + (lines.isEmpty() ? "" : "\n")).getBytes(StandardCharsets.UTF_8));
            try (var ch = java.nio.channels.FileChannel.open(temp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            if (!lines(target).equals(before)) {
                throw new IOException(target + " changed while this command ran; nothing was written, try again");
            }
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot rename a file over " + target + " in one step: " + e.getMessage());
            }
            return note;
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** {@code --expires}: a date (through that day, UTC), an ISO-8601 instant, or a number of days ahead. */
    static Instant expiry(String value, Instant now) {
        if (value.matches("[1-9][0-9]{0,4}d")) {
            return now.plus(Duration.ofDays(Long.parseLong(value.substring(0, value.length() - 1))))
                    .truncatedTo(ChronoUnit.SECONDS);
        }
        try {
            return AppPasswordFile.time(value, true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--expires: '" + value + "' is not a date such as 2027-06-30, a time"
                    + " such as 2027-06-30T12:00:00Z, or a number of days such as 90d");
        }
    }

    @Command(name = "add", mixinStandardHelpOptions = true, versionProvider = Version.class,
            description = {"Make a new app password NAME for USER, store its hash, and print the",
                "password once, as the last line. It is not shown again: give it to the device now."})
    static final class Add implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @picocli.CommandLine.Mixin
        FileOptions files = new FileOptions();

        @Option(names = "--networks", paramLabel = "CIDR,...",
                description = "Only from these networks (default: from anywhere).")
        String networks;

        @Option(names = "--services", paramLabel = "LIST",
                description = "Only for these services, as the AUTH line names them: smtp (Postfix), imap, pop3..."
                        + " (default: any).")
        String services;

        @Option(names = "--expires", paramLabel = "DATE",
                description = "Stops working after this date (UTC), at this time (2027-06-30T12:00:00Z), or after"
                        + " this many days (90d) (default: never).")
        String expires;

        @Parameters(index = "0", paramLabel = "USER", description = "The user, as a client logs in.")
        String user;

        @Parameters(index = "1", paramLabel = "NAME",
                description = "What the user calls it: phone, thunderbird, laptop (letters, digits, . _ - @).")
        String name;

        SecureRandom random = new SecureRandom();

        @Override
        public Integer call() throws IOException {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            Logging.toTerminal("off");
            Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
            if (!AppPassword.validName(name)) {
                err.println("saslauth app-password add: the name " + Log.quote(name) + " is not 1 to "
                        + AppPassword.MAX_NAME + " letters, digits, '.', '_', '-' or '@'");
                return ExitCodes.USAGE;
            }
            Optional<String> nets = Optional.empty();
            java.util.List<String> serviceList = java.util.List.of();
            Optional<Instant> expiry = Optional.empty();
            try {
                if (networks != null) {
                    Networks parsed = Networks.parse(networks);
                    if (parsed.isEmpty()) {
                        throw new IllegalArgumentException("--networks: no network listed");
                    }
                    nets = Optional.of(networks.replace(" ", ""));
                }
                if (services != null) {
                    serviceList = AppPasswordFile.services(services);
                }
                if (expires != null) {
                    expiry = Optional.of(expiry(expires, now));
                    if (!expiry.get().isAfter(now)) {
                        throw new IllegalArgumentException("--expires: " + expiry.get() + " has passed already");
                    }
                }
            } catch (IllegalArgumentException e) {
                err.println("saslauth app-password add: " + e.getMessage());
                return ExitCodes.USAGE;
            }
            Optional<Target> target = target(files, err);
            if (target.isEmpty()) {
                return ExitCodes.CONFIG;
            }
            Optional<String> canonical = user(user, target.get(), err);
            if (canonical.isEmpty()) {
                return ExitCodes.USAGE;
            }
            Path file = target.get().file();
            java.util.List<String> before;
            Map<Integer, AppPassword> entries;
            try {
                before = lines(file);
                entries = parsed(file, before);
            } catch (IOException e) {
                err.println("saslauth app-password add: cannot read " + file + ": " + org.saslauth.Text.describe(e));
                return ExitCodes.CONFIG;
            } catch (AppPasswordFile.Invalid e) {
                err.println("saslauth app-password add: " + e.getMessage() + "; fix the file first");
                return ExitCodes.CONFIG;
            }
            Optional<Map.Entry<Integer, AppPassword>> same = find(entries, canonical.get(), name);
            if (same.isPresent()) {
                err.println("saslauth app-password add: user " + Log.quote(canonical.get()) + " has an app password "
                        + Log.quote(name) + " already" + same.get().getValue().revoked().map(r -> " (revoked " + r + ")")
                                .orElse("") + "; choose another name");
                return ExitCodes.USAGE;
            }
            byte[] password = generate(random);
            try {
                String hash = PasswordSchemes.argon2id(password, ARGON2_MEMORY_KIB, ARGON2_PASSES);
                java.util.List<String> after = new ArrayList<>(before);
                after.add(AppPasswordFile.line(canonical.get(), name, hash, nets, serviceList, expiry, now));
                Optional<String> note;
                try {
                    note = write(file, before, after, target.get().passwdFile());
                } catch (IOException e) {
                    err.println("saslauth app-password add: " + e.getMessage());
                    return ExitCodes.SOFTWARE;
                }
                note.ifPresent(n -> err.println("saslauth app-password add: " + n));
                out.println("app password " + Log.quote(name) + " of user " + Log.quote(canonical.get()) + " added to "
                        + file + describe(nets, serviceList, expiry) + "; it is shown once:");
                out.println(new String(password, StandardCharsets.US_ASCII));
                out.flush();
                return ExitCodes.OK;
            } finally {
                Arrays.fill(password, (byte) 0);
            }
        }

        private static String describe(Optional<String> nets, java.util.List<String> services, Optional<Instant> expiry) {
            StringBuilder s = new StringBuilder();
            nets.ifPresent(n -> s.append(", from ").append(n));
            if (!services.isEmpty()) {
                s.append(", for ").append(String.join(",", services));
            }
            expiry.ifPresent(e -> s.append(", until ").append(e));
            return s.toString();
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Version.class,
            description = {"The app passwords of USER (of every user without USER): name, networks,",
                "services, expiry, creation and state. Never a password or a hash."})
    static final class List implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @picocli.CommandLine.Mixin
        FileOptions files = new FileOptions();

        @Parameters(arity = "0..1", paramLabel = "USER", description = "The user (default: every user).")
        String user;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            Logging.toTerminal("off");
            Optional<Target> target = target(files, err);
            if (target.isEmpty()) {
                return ExitCodes.CONFIG;
            }
            Optional<String> canonical = Optional.empty();
            if (user != null) {
                canonical = user(user, target.get(), err);
                if (canonical.isEmpty()) {
                    return ExitCodes.USAGE;
                }
            }
            Path file = target.get().file();
            Map<Integer, AppPassword> entries;
            try {
                entries = parsed(file, lines(file));
            } catch (IOException e) {
                err.println("saslauth app-password list: cannot read " + file + ": " + org.saslauth.Text.describe(e));
                return ExitCodes.CONFIG;
            } catch (AppPasswordFile.Invalid e) {
                err.println("saslauth app-password list: " + e.getMessage());
                return ExitCodes.CONFIG;
            }
            Instant now = Instant.now();
            java.util.List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"USER", "NAME", "NETWORKS", "SERVICES", "EXPIRES", "CREATED", "STATE"});
            for (AppPassword p : entries.values()) {
                if (canonical.isPresent() && !p.user().equals(canonical.get())) {
                    continue;
                }
                String state = p.revoked().map(r -> "revoked " + r)
                        .orElse(p.live(now) ? "active" : "expired");
                rows.add(new String[] {p.user(), p.name(), p.networks().map(Networks::toString).orElse("any"),
                    p.services().isEmpty() ? "any" : String.join(",", p.services()),
                    p.expires().map(Instant::toString).orElse("never"), p.created().map(Instant::toString).orElse("-"),
                    state});
            }
            int[] width = new int[7];
            for (String[] r : rows) {
                for (int i = 0; i < r.length; i++) {
                    width[i] = Math.max(width[i], r[i].length());
                }
            }
            for (String[] r : rows) {
                StringBuilder line = new StringBuilder();
                for (int i = 0; i < r.length; i++) {
                    line.append(i == r.length - 1 ? r[i] : String.format("%-" + width[i] + "s  ", r[i]));
                }
                out.println(line.toString().stripTrailing());
            }
            out.println((rows.size() - 1) + " app password" + (rows.size() == 2 ? "" : "s")
                    + canonical.map(u -> " of user " + Log.quote(u)).orElse("") + " in " + file);
            return ExitCodes.OK;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, versionProvider = Version.class,
            description = {"End the app password NAME of USER. Its line stays, marked revoked, so that a",
                "device still trying it is logged as revoked rather than as a wrong password.",
                "Servers stop accepting it within about two seconds, without a restart."})
    static final class Revoke implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @picocli.CommandLine.Mixin
        FileOptions files = new FileOptions();

        @Parameters(index = "0", paramLabel = "USER", description = "The user.")
        String user;

        @Parameters(index = "1", paramLabel = "NAME", description = "The app password's name, as list shows it.")
        String name;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            Logging.toTerminal("off");
            Optional<Target> target = target(files, err);
            if (target.isEmpty()) {
                return ExitCodes.CONFIG;
            }
            Optional<String> canonical = user(user, target.get(), err);
            if (canonical.isEmpty()) {
                return ExitCodes.USAGE;
            }
            Path file = target.get().file();
            java.util.List<String> before;
            Map<Integer, AppPassword> entries;
            try {
                before = lines(file);
                entries = parsed(file, before);
            } catch (IOException e) {
                err.println("saslauth app-password revoke: cannot read " + file + ": " + org.saslauth.Text.describe(e));
                return ExitCodes.CONFIG;
            } catch (AppPasswordFile.Invalid e) {
                err.println("saslauth app-password revoke: " + e.getMessage() + "; fix the file first");
                return ExitCodes.CONFIG;
            }
            Optional<Map.Entry<Integer, AppPassword>> found = find(entries, canonical.get(), name);
            if (found.isEmpty()) {
                err.println("saslauth app-password revoke: user " + Log.quote(canonical.get())
                        + " has no app password " + Log.quote(name) + " in " + file);
                return ExitCodes.NOT_FOUND;
            }
            if (found.get().getValue().revoked().isPresent()) {
                out.println("app password " + Log.quote(name) + " of user " + Log.quote(canonical.get())
                        + " was revoked already, at " + found.get().getValue().revoked().get());
                return ExitCodes.OK;
            }
            int index = found.get().getKey();
            String line = before.get(index);
            String revoked = "revoked=" + Instant.now().truncatedTo(ChronoUnit.SECONDS);
            long colons = line.chars().filter(c -> c == ':').count();
            java.util.List<String> after = new ArrayList<>(before);
            after.set(index, colons >= 3 ? line.stripTrailing() + " " + revoked : line + ":" + revoked);
            try {
                write(file, before, after, Optional.empty());
            } catch (IOException e) {
                err.println("saslauth app-password revoke: " + e.getMessage());
                return ExitCodes.SOFTWARE;
            }
            out.println("app password " + Log.quote(name) + " of user " + Log.quote(canonical.get()) + " revoked");
            return ExitCodes.OK;
        }
    }
}
