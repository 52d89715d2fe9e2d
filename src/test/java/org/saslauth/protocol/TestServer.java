package org.saslauth.protocol;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Mechanisms;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.CredentialStore.Verdict;
import org.saslauth.store.UserNameFormat;

/** A server with one user, {@value #USER} with password {@value #PASSWORD}, run on given input. */
final class TestServer {

    static final String USER = "alice";
    static final String PASSWORD = "s3cret-Pa55";

    /** What a run gave: the status, the lines after the handshake, and the log. */
    record Result(int status, List<String> replies, CapturedLog.Output log) {}

    static final CredentialStore STORE = (user, password, slots, deadline) -> {
        if (!user.equals(USER)) {
            return Verdict.UNKNOWN_USER;
        }
        return Arrays.equals(password, PASSWORD.getBytes(StandardCharsets.UTF_8))
                ? Verdict.ACCEPTED : Verdict.WRONG_PASSWORD;
    };

    private TestServer() {}

    static Settings settings(String mechanisms) {
        return new Settings(Mechanisms.parse(mechanisms),
                new Credentials(STORE, UserNameFormat.AS_IS), Duration.ZERO, 16);
    }

    /** Serves a client that sends the handshake, then {@code lines} each ended by LF. */
    static Result run(String mechanisms, String... lines) throws Exception {
        StringBuilder in = new StringBuilder("VERSION\t1\t0\nCPID\t42\n");
        for (String line : lines) {
            in.append(line).append('\n');
        }
        return run(settings(mechanisms), in.toString().getBytes(StandardCharsets.UTF_8));
    }

    static Result run(Settings settings, byte[] input) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CapturedLog.Run<Integer> run = CapturedLog.capture(
                () -> Inline.server(settings).serve(new ByteArrayInputStream(input), out));
        String text = out.toString(StandardCharsets.UTF_8);
        List<String> all = List.of(text.split("\n", -1));
        int done = all.indexOf("DONE");
        return new Result(run.result(), all.subList(done + 1, all.size() - 1), run.log());
    }

    static String b64(String s) {
        return java.util.Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }
}
