package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.saslauth.cli.CliTest.Result;

/**
 * {@code saslauth app-password} and {@code saslauth test} with app passwords, each run in its own
 * JVM as an administrator runs them: the real output and exit status.
 */
@Timeout(120)
class AppPasswordCommandTest {

    /** What {@code add} makes: four groups of four of the alphabet without look-alikes. */
    static final Pattern GENERATED = Pattern.compile("[a-hjkmnp-z2-9]{4}(-[a-hjkmnp-z2-9]{4}){3}");

    @TempDir
    Path dir;

    Path config;
    Path apps;

    @BeforeEach
    void files() throws Exception {
        Path users = dir.resolve("users");
        Files.writeString(users, "alice@example.org:{PLAIN}main-pw\nbob@example.org:{PLAIN}bob-pw\n");
        Files.setPosixFilePermissions(users, PosixFilePermissions.fromString("rw-r-----"));
        apps = dir.resolve("app-passwords");
        config = dir.resolve("saslauth.properties");
        Files.writeString(config, "passwd-file = " + users + "\napp-passwords-file = " + apps
                + "\nusername-format = lowercase\ndefault-realm = example.org\n");
    }

    private Result app(String... args) throws Exception {
        String[] all = new String[args.length + 2];
        all[0] = "app-password";
        all[1] = args[0];
        all[2] = "--config=" + config;
        System.arraycopy(args, 1, all, 3, args.length - 1);
        return CliTest.runFromFile("", all);
    }

    /** The password {@code add} printed: its last line. */
    private static String password(Result r) {
        String[] lines = r.out().strip().split("\n");
        return lines[lines.length - 1];
    }

    private Result test(String password, String... args) throws Exception {
        String[] all = new String[args.length + 3];
        all[0] = "test";
        all[1] = "--config";
        all[2] = config.toString();
        System.arraycopy(args, 0, all, 3, args.length);
        return CliTest.run(password + "\n", all);
    }

    @Test
    void addPrintsTheOnlyCopyAndStoresTheHash() throws Exception {
        Result r = app("add", "--networks", "192.0.2.0/24,2001:db8::/32", "--services", "smtp", "--expires", "2099-12-31",
                "Alice", "phone");
        assertEquals(0, r.status(), r.err());
        String password = password(r);
        assertTrue(GENERATED.matcher(password).matches(), password);
        String file = Files.readString(apps);
        assertFalse(file.contains(password), "only the hash is kept");
        assertTrue(file.startsWith("alice@example.org:phone:{ARGON2ID}$argon2id$v=19$m=8192,t=1,p=1$"),
                "the name as the servers look it up: " + file);
        assertTrue(file.contains(":networks=192.0.2.0/24,2001:db8::/32 services=smtp expires=2100-01-01T00:00:00Z created="),
                file);
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(apps)),
                "a new file takes the passwd file's mode");
        assertTrue(r.err().contains("with the owner, group and mode of " + dir.resolve("users")), r.err());
        assertFalse(password.equals(password(app("add", "alice", "laptop"))), "each one its own");
    }

    /** A passwd file everyone may read: the new file is not, and add says who can read it. */
    @Test
    void aWorldReadablePasswdFileGivesAFileOthersCannotRead() throws Exception {
        Path users = dir.resolve("users");
        Files.setPosixFilePermissions(users, PosixFilePermissions.fromString("rw-r--r--"));
        Result r = app("add", "alice", "phone");
        assertEquals(0, r.status(), r.err());
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(apps)));
        String owner = Files.getOwner(users).getName();
        String group = Files.readAttributes(users, java.nio.file.attribute.PosixFileAttributes.class).group().getName();
        assertTrue(r.err().contains("but not readable by others: the user the servers run as must be " + owner
                + " or in group " + group), r.err());
    }

    @Test
    void anAppPasswordLogsInThroughTest() throws Exception {
        String phone = password(app("add", "--networks", "192.0.2.0/24", "--services", "smtp", "alice", "phone"));
        String laptop = password(app("add", "alice", "laptop"));

        assertEquals("auth succeeded: user=alice@example.org\n", test(phone, "--address", "192.0.2.7", "alice").out());
        Result outside = test(phone, "--address", "198.51.100.7", "alice");
        assertEquals(1, outside.status());
        assertEquals("auth failed: user=alice@example.org (refused: app password 'phone' is not for this address"
                + " (only 192.0.2.0/24))\n", outside.out());
        assertTrue(test(phone, "--address", "192.0.2.7", "--service", "imap", "alice").out().contains(
                "app password 'phone' is not for service imap (only smtp)"));
        assertEquals(0, test(laptop, "alice").status());
        assertEquals(0, test("main-pw", "alice").status(), "the main password as before");
        assertEquals(1, test(laptop, "bob").status(), "another user's app password");

        Result revoked = app("revoke", "alice", "laptop");
        assertEquals(0, revoked.status(), revoked.err());
        assertEquals("app password \"laptop\" of user \"alice@example.org\" revoked\n", revoked.out());
        assertTrue(test(laptop, "alice").out().contains("(refused: app password 'laptop' was revoked at "));
        assertEquals(0, app("revoke", "alice", "laptop").status(), "revoking twice is no error");
        assertEquals(ExitCodes.NOT_FOUND, app("revoke", "alice", "tablet").status());
    }

    @Test
    void appPasswordsRequiredRefusesTheMainPasswordOfTheirUsersOnly() throws Exception {
        String phone = password(app("add", "alice", "phone"));
        Files.writeString(config, Files.readString(config) + "app-passwords-required = true\n");
        Result main = test("main-pw", "alice");
        assertEquals(1, main.status());
        assertEquals("auth failed: user=alice@example.org (refused: main password refused: the user has app passwords"
                + " and app-passwords-required is on)\n", main.out());
        assertEquals(0, test(phone, "alice").status());
        assertEquals(0, test("bob-pw", "bob").status(), "a user without app passwords");
        app("revoke", "alice", "phone");
        assertEquals(0, test("main-pw", "alice").status(), "no live app password left");
    }

    @Test
    void listShowsEverythingButThePasswordAndHash() throws Exception {
        String phone = password(app("add", "--networks", "192.0.2.0/24", "--expires", "2099-01-01T00:00:00Z", "alice",
                "phone"));
        app("add", "--services", "smtp,imap", "alice", "laptop");
        app("add", "bob", "tablet");
        app("revoke", "alice", "laptop");
        Result list = app("list", "alice");
        assertEquals(0, list.status(), list.err());
        List<String> lines = List.of(list.out().split("\n"));
        assertEquals(4, lines.size(), list.out());
        assertTrue(lines.get(0).matches("USER +NAME +NETWORKS +SERVICES +EXPIRES +CREATED +STATE"), lines.get(0));
        assertTrue(lines.get(1).matches("alice@example\\.org +phone +192\\.0\\.2\\.0/24 +any +2099-01-01T00:00:00Z"
                + " +20[0-9-]+T[0-9:]+Z +active"), lines.get(1));
        assertTrue(lines.get(2).matches("alice@example\\.org +laptop +any +smtp,imap +never +\\S+ +revoked 20\\S+Z"),
                lines.get(2));
        assertEquals("2 app passwords of user \"alice@example.org\" in " + apps, lines.get(3));
        assertFalse(list.out().contains(phone));
        assertFalse(list.out().contains("$argon2id") || list.out().contains("{ARGON2ID}"), "never the hash");
        assertEquals(5, app("list").out().split("\n").length, "every user without USER");
    }

    @Test
    void clearErrors() throws Exception {
        assertEquals(ExitCodes.USAGE, app("add", "alice", "my phone").status());
        assertEquals(ExitCodes.USAGE, app("add", "--networks", "192.0.2.0/33", "alice", "phone").status());
        assertEquals(ExitCodes.USAGE, app("add", "--services", "smtp/x", "alice", "phone").status());
        Result past = app("add", "--expires", "2001-01-01", "alice", "phone");
        assertEquals(ExitCodes.USAGE, past.status());
        assertTrue(past.err().contains("--expires: 2001-01-02T00:00:00Z has passed already"), past.err());
        assertEquals(0, app("add", "alice", "phone").status());
        Result twice = app("add", "alice", "phone");
        assertEquals(ExitCodes.USAGE, twice.status());
        assertTrue(twice.err().contains("has an app password \"phone\" already; choose another name"), twice.err());

        Files.writeString(apps, Files.readString(apps) + "alice@example.org:tablet:{PLAIN}x:netwroks=192.0.2.0/24\n");
        Result broken = app("add", "alice", "tablet");
        assertEquals(ExitCodes.CONFIG, broken.status());
        assertTrue(broken.err().contains(apps + " line 2") && broken.err().contains("unknown field \"netwroks\""),
                broken.err());
        assertFalse(Files.readString(apps).contains(":tablet:{ARGON2ID}"), "nothing written");

        Files.writeString(config, "passwd-file = " + dir.resolve("users") + "\n");
        Result none = app("list");
        assertEquals(ExitCodes.CONFIG, none.status());
        assertTrue(none.err().contains("no app-passwords-file in " + config), none.err());
    }
}
