package org.saslauth.e2e;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Real SMTP clients from Debian's packages, run against a port of the test's Postfix: swaks,
 * curl, Python's smtplib and GNU SASL's gsasl. Passwords go to them as printf(1) octal escapes
 * inside a shell, so that a non-ASCII one arrives as its UTF-8 bytes whatever the JVM's locale.
 */
final class MailClients {

    private static final Duration TIMEOUT = Duration.ofSeconds(40);
    private static final String HELO = "client.saslauth.test";

    private MailClients() {}

    /** What a client printed, its exit status, and the SMTP AUTH verdicts (235, 535) it got. */
    record Outcome(String client, int status, String output, int accepted, int refused) {
        boolean ok() {
            return status == 0 && accepted == 1 && refused == 0;
        }

        @Override
        public String toString() {
            return client + " exited " + status + ", " + accepted + " x 235, " + refused + " x 535:\n" + output;
        }
    }

    static Outcome swaks(int port, String mechanism, String user, String password) throws IOException {
        return run("swaks " + mechanism, "exec swaks --server 127.0.0.1 --port \"$1\" --helo " + HELO
                + " --auth \"$2\" --auth-user \"$3\" --auth-password \"$(printf \"$4\")\" --quit-after AUTH"
                + " --timeout 20 </dev/null", port, mechanism, user, password,
                "^<(-|\\*\\*) +235 ", "^<(-|\\*\\*) +535 ");
    }

    /** curl's SMTP: log in, then NOOP (-X) instead of sending mail. */
    static Outcome curl(int port, String mechanism, String user, String password) throws IOException {
        return run("curl " + mechanism, "exec curl -sS -v --max-time 20 --url \"smtp://127.0.0.1:$1/" + HELO + "\""
                + " --login-options \"AUTH=$2\" --user \"$3:$(printf \"$4\")\" -X NOOP </dev/null",
                port, mechanism, user, password, "^< 235 ", "^< 535 ");
    }

    /**
     * Python's smtplib.login, which picks CRAM-MD5 when the server offers it and, when it fails,
     * tries PLAIN and LOGIN in turn. It speaks CRAM-MD5 with ASCII passwords only (it encodes the
     * key as ASCII).
     */
    static Outcome smtplib(int port, String user, String password) throws IOException {
        return smtplib(port, user, password, "");
    }

    /**
     * {@link #smtplib(int, String, String)} from the loopback address {@code source}
     * ({@code 127.0.0.2}), which Postfix passes on as the client's address ({@code rip=});
     * empty for the system's choice, 127.0.0.1.
     */
    static Outcome smtplib(int port, String user, String password, String source) throws IOException {
        String script = String.join("\n",
                "import smtplib, sys",
                "src = (sys.argv[4], 0) if sys.argv[4] else None",
                "s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='" + HELO + "', timeout=20,"
                        + " source_address=src)",
                "s.set_debuglevel(1)",
                "try:",
                "    s.login(sys.argv[2], sys.argv[3])",
                "except smtplib.SMTPAuthenticationError as e:",
                "    print('login refused:', e.smtp_code, flush=True)",
                "    sys.exit(1)",
                "s.quit()");
        return run("smtplib", "exec python3 -c \"$5\" \"$1\" \"$3\" \"$(printf \"$4\")\" \"$6\" </dev/null",
                port, "", user, password, "reply: retcode \\(235\\)", "reply: retcode \\(535\\)", script, source);
    }

    /**
     * curl's SMTP with a bearer token: {@code --oauth2-bearer} makes it pick OAUTHBEARER or
     * XOAUTH2 ({@code mechanism}), the user from {@code --user}.
     */
    static Outcome curlBearer(int port, String mechanism, String user, String token) throws IOException {
        return run("curl " + mechanism, "exec curl -sS -v --max-time 20 --url \"smtp://127.0.0.1:$1/" + HELO + "\""
                + " --login-options \"AUTH=$2\" --user \"$3:\" --oauth2-bearer \"$(printf \"$4\")\" -X NOOP </dev/null",
                port, mechanism, user, token, "^< 235 ", "^< 535 ");
    }

    /**
     * Python's smtplib.auth with OAUTHBEARER or XOAUTH2 as the client library's users write it:
     * the message first, and the answer to the JSON error (\x01, or nothing) when one comes.
     */
    static Outcome smtplibBearer(int port, String mechanism, String user, String token) throws IOException {
        String script = String.join("\n",
                "import smtplib, sys",
                "mech, user, token = sys.argv[2], sys.argv[3], sys.argv[4]",
                "msg = ('n,a=%s,\\x01auth=Bearer %s\\x01\\x01' if mech == 'OAUTHBEARER' else 'user=%s\\x01auth=Bearer %s\\x01\\x01') % (user, token)",
                "calls = []",
                "def respond(challenge=None):",
                "    calls.append(challenge)",
                "    if len(calls) == 1:",
                "        return msg",
                "    print('error:', challenge, flush=True)",
                "    return '\\x01' if mech == 'OAUTHBEARER' else ''",
                "s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='" + HELO + "', timeout=20)",
                "s.set_debuglevel(1)",
                "s.ehlo()",
                "try:",
                "    s.auth(mech, respond)",
                "except smtplib.SMTPAuthenticationError as e:",
                "    print('login refused:', e.smtp_code, flush=True)",
                "    sys.exit(1)",
                "s.quit()");
        return run("smtplib " + mechanism, "exec python3 -c \"$5\" \"$1\" \"$2\" \"$3\" \"$(printf \"$4\")\" </dev/null",
                port, mechanism, user, token, "reply: retcode \\(235\\)", "reply: retcode \\(535\\)", script);
    }

    /** GNU SASL's command-line client in SMTP mode, without STARTTLS (the test's Postfix has no TLS). */
    static Outcome gsasl(int port, String mechanism, String user, String password) throws IOException {
        return run("gsasl " + mechanism, "exec gsasl --smtp --connect \"127.0.0.1:$1\" --hostname " + HELO
                + " --no-starttls --mechanism \"$2\" --authentication-id \"$3\" --password \"$(printf \"$4\")\""
                + " </dev/null", port, mechanism, user, password, "^235 ", "^535 ");
    }

    private static Outcome run(String client, String script, int port, String mechanism, String user, String password,
            String accepted, String refused, String... more) throws IOException {
        List<String> command = new ArrayList<>(List.of("/bin/sh", "-c", script, "sh", Integer.toString(port),
                mechanism, user, PostfixInstance.octal(password)));
        command.addAll(List.of(more));
        PostfixInstance.Result r = PostfixInstance.run(TIMEOUT, Map.of("LANG", "C.UTF-8"), command.toArray(String[]::new));
        return new Outcome(client, r.status(), r.output(), count(accepted, r.output()), count(refused, r.output()));
    }

    private static int count(String regex, String text) {
        Matcher m = Pattern.compile(regex, Pattern.MULTILINE).matcher(text);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }
}
