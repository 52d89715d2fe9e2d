package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code saslauth check} in a JVM of its own, on broken configurations and a good one, and
 * against a real Postfix configuration read by the real {@code postconf -c DIR}. Issue 21:
 * before it, {@code saslauth test} as root said {@code auth succeeded} for a passwd file the
 * helpers' user could not read, and for {@code mechanisms = PLAIN,LOGN}.
 */
class CheckCommandTest {

    @TempDir
    Path dir;

    private static final String ME = System.getProperty("user.name");

    private Path users() throws Exception {
        Path f = dir.resolve("users.passwd");
        Files.writeString(f, "alice:{PLAIN}secret\n");
        return f;
    }

    private CliTest.Result check(String properties, String... more) throws Exception {
        Path config = dir.resolve("saslauth.properties");
        Files.writeString(config, properties.replace("{users}", users().toString()).replace("{dir}", dir.toString()));
        List<String> args = new ArrayList<>(List.of("check", "--config", config.toString()));
        args.addAll(List.of(more));
        if (!args.contains("--user")) {
            args.addAll(List.of("--user", ME));
        }
        if (!args.contains("--postfix-config")) {
            args.add("--no-postfix");
        }
        return CliTest.run("", args.toArray(new String[0]));
    }

    @Test
    void aGoodConfigurationHasNoErrors() throws Exception {
        CliTest.Result r = check("passwd-file = {users}\nmechanisms = PLAIN,LOGIN,CRAM-MD5\nlog-file = {dir}/saslauth.log\n");
        assertEquals(0, r.status(), r.out() + r.err());
        assertFalse(r.out().contains("error:"), r.out());
        assertTrue(r.out().contains("no errors"), r.out());
        assertEquals("", r.err());
    }

    /** Every problem at once, one line each, with the file, line and key, and a fix. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "failure_delay = 2s          | line 2: unknown key 'failure_delay' (did you mean 'failure-delay'?)",
        "failure-delay = soon        | line 2: failure-delay: 'soon' is not a duration",
        "mechanisms = PLAIN,LOGN     | line 2: mechanisms: unknown mechanism 'LOGN' (did you mean 'LOGIN'?)",
        "log-file = /nonexistent/x/saslauth.log | line 2: log-file: the directory of /nonexistent/x/saslauth.log does not exist",
        "passdb = sqll               | passdb must be passwd-file, sql, ldap, checkpassword, shadow or pam, not 'sqll' (did you mean 'sql'?)",
        "listen = tcp:127.0.0.1:99999 | line 2: listen: ",
        "metrics-listen = unix:/run/m | line 2: metrics-listen: 'unix:/run/m': tcp:HOST:PORT only",
        "metrics-listen = tcp:0.0.0.0:9101 | line 2: metrics-listen: tcp:0.0.0.0:9101 is not a loopback address: set allow-from",
    })
    void eachProblemIsOneLineNamingItsKey(String line, String expected) throws Exception {
        CliTest.Result r = check("passwd-file = {users}\n" + line.strip() + "\n");
        assertEquals(1, r.status(), r.out() + r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("error: ") && l.contains(expected)), r.out());
    }

    @Test
    void severalProblemsAreReportedTogether() throws Exception {
        CliTest.Result r = check("passwd-file = {users}\nfailure_delay = 2s\nmechanisms = PLAIN,LOGN\nmax-pending = x\n");
        assertEquals(1, r.status(), r.out());
        assertEquals(3, r.out().lines().filter(l -> l.startsWith("error: ")).count(), r.out());
        assertTrue(r.out().contains("3 error(s)"), r.out());
    }

    @Test
    void aMechanismThePassdbCannotServe() throws Exception {
        CliTest.Result r = check("mechanisms = PLAIN,CRAM-MD5\npassdb = checkpassword\ncheckpassword-program = /bin/true\n");
        assertEquals(1, r.status(), r.out());
        assertTrue(r.out().contains("mechanisms CRAM-MD5 cannot be served by passdb checkpassword"), r.out());
    }

    @Test
    void tokenMechanismsWithoutAnIssuerOrWithOneThatDoesNotAnswer() throws Exception {
        CliTest.Result none = check("mechanisms = PLAIN,XOAUTH2\npasswd-file = {users}\n");
        assertEquals(1, none.status(), none.out());
        assertTrue(none.out().contains("XOAUTH2 need --oauth2-issuer (JWT access tokens) or --oauth2-introspection-url"), none.out());
        // nothing listens on port 1: the check asks the issuer as the first token would
        CliTest.Result down = check("mechanisms = PLAIN,OAUTHBEARER\npasswd-file = {users}\noauth2-issuer = http://127.0.0.1:1\n");
        assertEquals(1, down.status(), down.out());
        assertTrue(down.out().contains("oauth2-issuer: cannot fetch the keys of http://127.0.0.1:1"), down.out());
    }

    @Test
    void oreoreIsAWarning() throws Exception {
        CliTest.Result r = check("mechanisms = OREORE,PLAIN\npasswd-file = {users}\n");
        assertEquals(0, r.status(), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("warning: ") && l.contains("OREORE")), r.out());
    }

    @Test
    void aMissingPasswdFileAndConfigFile() throws Exception {
        CliTest.Result r = check("passwd-file = {dir}/missing.passwd\n");
        assertEquals(1, r.status(), r.out());
        assertTrue(r.out().contains("passwd-file " + dir.resolve("missing.passwd") + " does not exist"), r.out());
        CliTest.Result none = CliTest.run("", "check", "--config", dir.resolve("nope.properties").toString(), "--no-postfix");
        assertEquals(1, none.status(), none.out());
        assertTrue(none.out().contains("does not exist"), none.out());
    }

    @Test
    void aUserThatDoesNotExist() throws Exception {
        CliTest.Result r = check("passwd-file = {users}\n", "--user", "saslauth-no-such-user");
        assertEquals(1, r.status(), r.out());
        assertTrue(r.out().contains("user saslauth-no-such-user does not exist"), r.out());
    }

    /**
     * A passwd file that root can read and the serving user cannot: {@code saslauth test} as
     * root said {@code auth succeeded}, and every helper failed; check names it and the fix.
     */
    @Test
    void aPasswdFileTheServingUserCannotRead() throws Exception {
        requireRoot();
        String user = "sacheck" + (ProcessHandle.current().pid() % 100000);
        assertEquals(0, CheckCommand.run(List.of("useradd", "-M", "-r", "-s", "/usr/sbin/nologin", user)).status());
        try {
            Path users = users();
            Files.setPosixFilePermissions(users, PosixFilePermissions.fromString("rw-------"));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path config = dir.resolve("saslauth.properties");
            Files.writeString(config, "passwd-file = " + users + "\n");
            Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));
            CliTest.Result r = CliTest.run("", "check", "--config", config.toString(), "--user", user, "--no-postfix");
            assertEquals(1, r.status(), r.out());
            assertTrue(r.out().contains("passwd-file " + users + " cannot be read by user " + user), r.out());
            Files.setPosixFilePermissions(users, PosixFilePermissions.fromString("rw-r--r--"));
            CliTest.Result ok = CliTest.run("", "check", "--config", config.toString(), "--user", user, "--no-postfix");
            assertEquals(0, ok.status(), ok.out());
        } finally {
            CheckCommand.run(List.of("userdel", user));
        }
    }

    /**
     * An app-passwords file the serving user cannot read: the helper keeps serving main passwords
     * and logs a warning, and every app password fails; check names it, and says when it is missing.
     */
    @Test
    void anAppPasswordsFileTheServingUserCannotRead() throws Exception {
        requireRoot();
        String user = "sacheck" + (ProcessHandle.current().pid() % 100000) + "a";
        assertEquals(0, CheckCommand.run(List.of("useradd", "-M", "-r", "-s", "/usr/sbin/nologin", user)).status());
        try {
            Path users = users();
            Files.setPosixFilePermissions(users, PosixFilePermissions.fromString("rw-r--r--"));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path apps = dir.resolve("app-passwords");
            Path config = dir.resolve("saslauth.properties");
            Files.writeString(config, "passwd-file = " + users + "\napp-passwords-file = " + apps + "\n");
            Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));
            CliTest.Result missing = CliTest.run("", "check", "--config", config.toString(), "--user", user, "--no-postfix");
            assertEquals(0, missing.status(), missing.out());
            assertTrue(missing.out().contains("app-passwords-file " + apps + " does not exist yet"), missing.out());
            Files.writeString(apps, "");
            Files.setPosixFilePermissions(apps, PosixFilePermissions.fromString("rw-r-----"));
            CliTest.Result r = CliTest.run("", "check", "--config", config.toString(), "--user", user, "--no-postfix");
            assertEquals(1, r.status(), r.out());
            assertTrue(r.out().contains("app-passwords-file " + apps + " cannot be read by user " + user), r.out());
            Files.setPosixFilePermissions(apps, PosixFilePermissions.fromString("rw-r--r--"));
            CliTest.Result ok = CliTest.run("", "check", "--config", config.toString(), "--user", user, "--no-postfix");
            assertEquals(0, ok.status(), ok.out());
        } finally {
            CheckCommand.run(List.of("userdel", user));
        }
    }

    /** passdb shadow: a serving user outside the group shadow cannot read /etc/shadow; check says so. */
    @Test
    void passdbShadowWithoutTheGroupShadow() throws Exception {
        requireRoot();
        String user = "sashcheck" + (ProcessHandle.current().pid() % 100000);
        assertEquals(0, CheckCommand.run(List.of("useradd", "-M", "-r", "-s", "/usr/sbin/nologin", user)).status());
        try {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path config = dir.resolve("saslauth.properties");
            Files.writeString(config, "passdb = shadow\n");
            Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));
            CliTest.Result r = CliTest.run("", "check", "--config", config.toString(), "--user", user, "--no-postfix");
            assertEquals(1, r.status(), r.out());
            assertTrue(r.out().contains("shadow-file /etc/shadow cannot be read by user " + user
                    + ": passdb shadow needs the group shadow (usermod -aG shadow " + user), r.out());
            assertEquals(0, CheckCommand.run(List.of("usermod", "-aG", "shadow", user)).status());
            CliTest.Result ok = CliTest.run("", "check", "--config", config.toString(), "--user", user, "--no-postfix");
            assertEquals(0, ok.status(), ok.out());
        } finally {
            CheckCommand.run(List.of("userdel", user));
        }
    }

    // --- against a real Postfix configuration, read by postconf -c DIR -------------------------

    private Path postfix(String main, String master) throws Exception {
        requirePostconf();
        Path etc = Files.createDirectories(dir.resolve("postfix"));
        Files.writeString(etc.resolve("main.cf"), "compatibility_level = 3.6\nqueue_directory = " + dir.resolve("spool")
                + "\n" + main);
        Files.writeString(etc.resolve("master.cf"), master);
        Files.createDirectories(dir.resolve("spool").resolve("private"));
        return etc;
    }

    private static final String SMTP = "smtp      inet  n       -       y       -       -       smtpd\n";
    private static final String SUBMISSION = "submission inet n       -       y       -       -       smtpd\n"
            + "  -o smtpd_sasl_auth_enable=yes\n";

    private String spawn(String argv) {
        return "saslauth  unix  -       n       n       -       -       spawn\n"
                + "  user=" + ME + " argv=" + argv + " --config /etc/saslauth/saslauth.properties\n";
    }

    @Test
    void aRightPostfixSetupHasNoPostfixErrors() throws Exception {
        Path etc = postfix("smtpd_sasl_type = dovecot\nsmtpd_sasl_path = private/saslauth\n",
                SMTP + SUBMISSION + spawn("/bin/true"));
        CliTest.Result r = check("passwd-file = {users}\n", "--postfix-config", etc.toString());
        assertEquals(0, r.status(), r.out() + r.err());
        assertFalse(r.out().contains("Postfix"), r.out());
    }

    /** spawn(8) gives the helper one group: passdb shadow under spawn needs user=NAME:shadow. */
    @Test
    void passdbShadowUnderSpawnNeedsTheGroupInTheEntry() throws Exception {
        String main = "smtpd_sasl_type = dovecot\nsmtpd_sasl_path = private/saslauth\n";
        Path etc = postfix(main, SMTP + SUBMISSION + spawn("/bin/true"));
        CliTest.Result r = check("passdb = shadow\n", "--postfix-config", etc.toString());
        assertEquals(1, r.status(), r.out());
        assertTrue(r.out().contains("spawn(8) runs the helper with one group only, so write user=" + ME + ":shadow"), r.out());
        Files.writeString(etc.resolve("master.cf"), SMTP + SUBMISSION + spawn("/bin/true").replace("user=" + ME,
                "user=" + ME + ":shadow"));
        CliTest.Result ok = check("passdb = shadow\n", "--postfix-config", etc.toString());
        assertFalse(ok.out().contains("one group only"), ok.out());
        assertEquals(0, ok.status(), ok.out());
    }

    @Test
    void aWrongSaslPath() throws Exception {
        Path etc = postfix("smtpd_sasl_type = dovecot\nsmtpd_sasl_path = private/auth\n", SMTP + SUBMISSION + spawn("/bin/true"));
        CliTest.Result r = check("passwd-file = {users}\n", "--postfix-config", etc.toString());
        assertEquals(1, r.status(), r.out());
        assertTrue(r.out().contains("error: Postfix service submission/inet: smtpd_sasl_path = private/auth"), r.out());
    }

    @Test
    void aSpawnArgvThatDoesNotExist() throws Exception {
        Path etc = postfix("smtpd_sasl_type = dovecot\nsmtpd_sasl_path = private/saslauth\n",
                SMTP + SUBMISSION + spawn("/usr/sbin/saslauth-not-here"));
        CliTest.Result r = check("passwd-file = {users}\n", "--postfix-config", etc.toString());
        assertEquals(1, r.status(), r.out());
        assertTrue(r.out().contains("argv=/usr/sbin/saslauth-not-here does not exist or is not executable"), r.out());
    }

    @Test
    void authOnPort25IsAWarningAndTheWrongTypeAnError() throws Exception {
        Path etc = postfix("smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = dovecot\nsmtpd_sasl_path = private/saslauth\n",
                SMTP + SUBMISSION + spawn("/bin/true"));
        CliTest.Result r = check("passwd-file = {users}\n", "--postfix-config", etc.toString());
        assertEquals(0, r.status(), r.out());
        assertTrue(r.out().contains("warning: Postfix service smtp/inet (port 25) offers AUTH"), r.out());

        Path cyrus = postfix("smtpd_sasl_type = cyrus\n", SMTP + SUBMISSION);
        CliTest.Result c = check("passwd-file = {users}\n", "--postfix-config", cyrus.toString());
        assertEquals(1, c.status(), c.out());
        assertTrue(c.out().contains("smtpd_sasl_type = cyrus"), c.out());
    }

    private static void requireRoot() {
        if (!"root".equals(ME)) {
            skipOrFail("needs root to make a throwaway user with useradd");
        }
    }

    private static void requirePostconf() {
        if (!Files.isExecutable(Path.of("/usr/sbin/postconf"))) {
            skipOrFail("needs postconf (Debian's postfix package)");
        }
    }

    private static void skipOrFail(String why) {
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail(why + " (CI=true: this test must run)");
        }
        Assumptions.abort(why);
    }
}
