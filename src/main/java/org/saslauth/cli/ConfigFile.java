package org.saslauth.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * {@code --config FILE}: option values from a properties file, under the command line's. The
 * keys are the long option names of {@link ServingOption} ({@code passwd-file = /etc/...}).
 * Only a regular file (or a link to one) of at most {@link #MAX_SIZE} bytes of UTF-8 is read,
 * so that a device, a FIFO or a huge file can neither hang nor exhaust a helper. A key given
 * twice is taken from its last line, as Dovecot's configuration does, and warned about.
 */
final class ConfigFile {

    /** Far above any real configuration. */
    static final int MAX_SIZE = 64 * 1024;

    /**
     * A config file that cannot be used; {@link #raw} holds its keys and values when it could
     * be read, so that the log file it names can still report the error.
     */
    static final class Invalid extends Exception {
        private static final long serialVersionUID = 1L;

        private final transient Map<String, String> raw;

        Invalid(String message) {
            this(message, Map.of());
        }

        Invalid(String message, Map<String, String> raw) {
            super(message);
            this.raw = raw;
        }

        Map<String, String> raw() {
            return raw;
        }
    }

    /**
     * The values by key, stripped, and the warnings to log once logging is set up; {@code raw}
     * is the same values by the keys as written. {@code problems} are the lines that cannot be
     * used (an unknown key, a bad value), each message naming the file, the line and the key:
     * a serving command serves on with every login a temporary failure, the others refuse.
     * {@code origins} is where each option was set, for the messages of later checks.
     */
    record Contents(Map<ServingOption, String> values, List<String> warnings, Map<String, String> raw,
            List<String> problems, Map<ServingOption, String> origins) {
        /** No {@code --config}: no values. */
        static final Contents NONE = new Contents(Map.of(), List.of(), Map.of(), List.of(), Map.of());
    }

    /**
     * The config file the package installs, which its spawn entry and unit read, and which
     * {@code check} and a bare {@code test USER} read; the system property
     * {@code saslauth.packaged-config} names another (for tests).
     */
    static final Path PACKAGED = Path.of(System.getProperty("saslauth.packaged-config",
            "/etc/saslauth/saslauth.properties"));

    private ConfigFile() {}

    /**
     * The {@code --config} file that the arguments name (the last one, after a subcommand too),
     * read once for the whole start; {@link Contents#NONE} without one.
     */
    static Contents of(String[] args) throws Invalid {
        Optional<String> path = ServingArgs.find(args, ServingOption.CONFIG);
        if (path.isEmpty()) {
            return Contents.NONE;
        }
        Path file;
        try {
            file = Path.of(path.get());
        } catch (InvalidPathException e) {
            throw new Invalid("config file " + path.get() + ": " + e.getReason());
        }
        return check(file, readRaw(file, new ArrayList<>(), new ArrayList<>()));
    }

    /** Reads and checks the file; a line that cannot be used is {@link Invalid} here. */
    static Contents read(Path path) throws Invalid {
        Contents c = check(path, readRaw(path, new ArrayList<>(), new ArrayList<>()));
        if (!c.problems().isEmpty()) {
            throw new Invalid(c.problems().get(0), c.raw());
        }
        return c;
    }

    /** What {@link #readRaw} found: the values, the keys set twice, the text's lines. */
    private record Raw(Map<String, String> values, List<String> duplicates, List<String> lines) {}

    private static Contents check(Path path, Raw read) {
        Map<String, String> raw = read.values();
        Map<ServingOption, String> values = new LinkedHashMap<>();
        Map<ServingOption, String> origins = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, String> e : raw.entrySet()) {
            String at = "config file " + path + lineOf(read.lines(), e.getKey()) + ": ";
            Optional<ServingOption> option = ServingOption.named(e.getKey());
            if (option.isEmpty() || option.get() == ServingOption.CONFIG) {
                problems.add(at + "unknown key '" + Printable.of(e.getKey()) + "'" + Nearest.hint(e.getKey(), KEYS));
                continue;
            }
            ServingOption o = option.get();
            // The daemon's own values are converted by the daemon alone, which loads their classes.
            if (o.applies != ServingOption.Applies.DAEMON) {
                try {
                    o.type.convert(e.getValue());
                } catch (ServingOption.BadValue bad) {
                    problems.add(at + o.longName + ": " + bad.getMessage());
                    continue;
                }
            }
            values.put(o, e.getValue());
            origins.put(o, at + o.longName);
        }
        List<String> warnings = new ArrayList<>();
        for (String key : read.duplicates()) {
            warnings.add("config file " + path + ": '" + key + "' is set more than once; the last line wins");
        }
        return new Contents(values, warnings, raw, problems, origins);
    }

    /** The keys a config file may hold. */
    private static final List<String> KEYS = keys();

    private static List<String> keys() {
        List<String> keys = new ArrayList<>();
        for (ServingOption o : ServingOption.values()) {
            if (o != ServingOption.CONFIG) {
                keys.add(o.longName);
            }
        }
        return keys;
    }

    /**
     * {@code " line N"} for the last line that sets {@code key}, or nothing when it cannot be
     * told (a key written with escapes, or on a continued line).
     */
    static String lineOf(List<String> lines, String key) {
        int found = 0;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).stripLeading();
            if (line.startsWith(key) && !line.startsWith("#") && !line.startsWith("!")) {
                String rest = line.substring(key.length());
                if (rest.isEmpty() || rest.charAt(0) == '=' || rest.charAt(0) == ':' || Character.isWhitespace(rest.charAt(0))) {
                    found = i + 1;
                }
            }
        }
        return found == 0 ? "" : " line " + found;
    }

    /**
     * The file's keys and stripped values, whatever the keys, for what must be found before
     * the file is checked (the log file that is to report the check).
     */
    static Map<String, String> readRaw(Path path) throws Invalid {
        return readRaw(path, new ArrayList<>(), new ArrayList<>()).values();
    }

    private static Raw readRaw(Path path, List<String> duplicates, List<String> lines) throws Invalid {
        byte[] bytes;
        try {
            BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
            if (!a.isRegularFile()) {
                throw new Invalid("config file " + path + " is not a regular file");
            }
            if (a.size() > MAX_SIZE) {
                throw new Invalid("config file " + path + " is larger than " + MAX_SIZE + " bytes");
            }
            try (InputStream in = Files.newInputStream(path)) {
                bytes = in.readNBytes(MAX_SIZE + 1);
            }
        } catch (IOException e) {
            throw new Invalid("cannot read config file " + path + ": " + org.saslauth.Text.describe(e));
        }
        if (bytes.length > MAX_SIZE) {
            throw new Invalid("config file " + path + " is larger than " + MAX_SIZE + " bytes");
        }
        String text;
        try {
            text = org.saslauth.Text.utf8(bytes);
        } catch (CharacterCodingException e) {
            throw new Invalid("config file " + path + " is not UTF-8");
        }
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1);
        }
        Properties props = new Properties() {
            @Override
            public synchronized Object put(Object key, Object value) {
                Object old = super.put(key, value);
                if (old != null) {
                    duplicates.add((String) key);
                }
                return old;
            }
        };
        try {
            props.load(new StringReader(text));
        } catch (IOException | IllegalArgumentException e) { // a malformed unicode escape
            throw new Invalid("cannot read config file " + path + ": " + e.getMessage());
        }
        Map<String, String> raw = new LinkedHashMap<>();
        for (String key : props.stringPropertyNames()) {
            raw.put(key, props.getProperty(key).strip());
        }
        lines.addAll(lines(text));
        return new Raw(raw, duplicates, lines);
    }

    /**
     * The lines of {@code text}, ended by CR LF, LF or CR, the last one too when it is empty (as
     * {@code split("\\r?\\n|\\r", -1)}, without compiling a regex before the handshake).
     */
    static List<String> lines(String text) {
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n' || c == '\r') {
                out.add(text.substring(start, i));
                if (c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') {
                    i++;
                }
                start = i + 1;
            }
        }
        out.add(text.substring(start));
        return out;
    }

    /** A key as it may appear in a message: printable ASCII, at most 64 characters. */
    static final class Printable {
        static String of(String s) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < s.length() && i < 64; i++) {
                char c = s.charAt(i);
                b.append(c >= 0x20 && c < 0x7f ? c : '?');
            }
            return b.toString();
        }
    }
}
