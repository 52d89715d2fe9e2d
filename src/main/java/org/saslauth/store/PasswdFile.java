package org.saslauth.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
 */
public final class PasswdFile implements CredentialStore {

    /** A file that cannot be used: missing, unreadable, or with a line that is not a user. */
    public static final class Invalid extends Exception {
        public Invalid(String message) {
            super(message);
        }
    }

    private final Path path;
    private final Map<String, PasswordHash> users;

    private PasswdFile(Path path, Map<String, PasswordHash> users) {
        this.path = path;
        this.users = users;
    }

    /** Reads and checks the whole file. */
    public static PasswdFile load(Path path) throws Invalid {
        List<String> lines;
        try {
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
            PasswordHash hash;
            try {
                hash = PasswordSchemes.parse(field);
            } catch (IllegalArgumentException e) {
                throw new Invalid(where + ": user '" + user + "': " + e.getMessage());
            }
            users.putIfAbsent(user, hash);
        }
        return new PasswdFile(path, Map.copyOf(users));
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

    public Path path() {
        return path;
    }

    public int size() {
        return users.size();
    }

    @Override
    public Verdict verify(String user, byte[] password) {
        PasswordHash hash = users.get(user);
        if (hash == null) {
            return Verdict.UNKNOWN_USER;
        }
        return hash.matches(password) ? Verdict.ACCEPTED : Verdict.WRONG_PASSWORD;
    }
}
