package org.saslauth.fuzz;

import static org.saslauth.fuzz.Wire.check;
import static org.saslauth.fuzz.Wire.show;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.saslauth.Deadline;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Mechanisms;
import org.saslauth.password.CostlyChecks;
import org.saslauth.protocol.AuthServer;
import org.saslauth.protocol.Settings;
import org.saslauth.protocol.CapturedLog;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.CredentialStore.Verdict;
import org.saslauth.store.UserNameFormat;

/** One fuzzed connection: a server configuration and the bytes the client sends. */
record Session(String mechanisms, int maxPending, Duration failureDelay, boolean penalty, int maxAuthRate,
        byte[] input) {

    /** A session without the per-address penalty and the rate limit. */
    Session(String mechanisms, int maxPending, Duration failureDelay, byte[] input) {
        this(mechanisms, maxPending, failureDelay, false, 0, input);
    }

    /** The same server configuration with other input. */
    Session withInput(byte[] other) {
        return new Session(mechanisms, maxPending, failureDelay, penalty, maxAuthRate, other);
    }

    private static final ExecutorService SERVER = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "fuzzed-server");
        t.setDaemon(true);
        return t;
    });

    /**
     * Serves the input and checks everything the server wrote and logged. Returns the kinds of
     * replies seen (OK, CONT, and FAIL reasons), for coverage statistics.
     */
    private static final org.saslauth.password.PasswordHash ALICE = org.saslauth.password.PasswordSchemes.parse(
            "{PLAIN}" + new String(SessionModel.PASSWORD, StandardCharsets.US_ASCII));

    java.util.Set<String> serveAndCheck() throws Exception {
        AtomicInteger accepted = new AtomicInteger();
        CredentialStore store = new CredentialStore() {
            @Override
            public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
                if (!user.equals(SessionModel.USER)) {
                    return user.equals("down") ? Verdict.UNAVAILABLE : Verdict.UNKNOWN_USER;
                }
                if (Arrays.equals(password, SessionModel.PASSWORD)) {
                    accepted.incrementAndGet();
                    return Verdict.ACCEPTED;
                }
                return Verdict.WRONG_PASSWORD;
            }

            /** The same users for CRAM-MD5 and SCRAM: alice's entry holds her password. */
            @Override
            public Lookup lookup(String user, Deadline deadline) {
                if (!user.equals(SessionModel.USER)) {
                    return user.equals("down") ? new Lookup.Unavailable() : new Lookup.UnknownUser();
                }
                return new Lookup.Found(ALICE);
            }
        };
        Mechanisms mechs = Mechanisms.parse(mechanisms);
        AuthServer server = org.saslauth.protocol.Inline.server(new Settings(mechs,
                new Credentials(store, UserNameFormat.AS_IS), failureDelay, maxPending, penalty, maxAuthRate));
        List<byte[]> segments = SegmentedInput.split(input);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        java.util.Set<String> seen = new java.util.TreeSet<>();
        List<int[]> marks = new ArrayList<>(); // output size and accepted count at each segment start
        SegmentedInput in = new SegmentedInput(segments, k -> marks.add(new int[] {out.size(), accepted.get()}));

        CapturedLog.Run<Integer> run = CapturedLog.capture(() -> {
            Future<Integer> served = SERVER.submit(() -> server.serve(in, out));
            try {
                return served.get(20, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw new AssertionError("serve threw " + e.getCause(), e.getCause());
            } catch (TimeoutException e) {
                served.cancel(true);
                throw new AssertionError("serve did not return within 20 s");
            }
        });
        byte[] written = out.toByteArray();

        List<String> mechNames = mechs.enabled().stream().map(m -> m.name()).toList();
        int handshakeEnd = marks.isEmpty() ? written.length : marks.get(0)[0];
        Wire.checkHandshake(lines(written, 0, handshakeEnd), mechNames);

        SessionModel model = new SessionModel(mechNames, maxPending, !failureDelay.isZero() || penalty, maxAuthRate);
        for (int k = 0; k < marks.size(); k++) {
            check(!model.stopped(), "server read on after an unsupported VERSION");
            int from = marks.get(k)[0];
            int to = k + 1 < marks.size() ? marks.get(k + 1)[0] : written.length;
            int acceptedAfter = k + 1 < marks.size() ? marks.get(k + 1)[1] : accepted.get();
            List<Wire.Reply> replies = lines(written, from, to).stream().map(Wire::parse).toList();
            replies.forEach(x -> seen.add(x.kind().equals("FAIL") ? x.param("reason") : x.kind()));
            model.segment(segments.get(k), replies, acceptedAfter - marks.get(k)[1], k + 1 < marks.size(),
                    k == segments.size() - 1);
        }
        check(model.stopped() || model.closed() || marks.size() == segments.size(), "server stopped reading early");
        model.finish();
        check(run.result() == model.expectedStatus(), "serve returned " + run.result());
        checkLog(run.log());
        if (model.passwordOks() > 0) {
            seen.add("OK with password");
        }
        return seen;
    }

    /**
     * No event spans lines; the password appears nowhere but in a user name (a client may well
     * type it there); no base64 credential field of an AUTH or CONT line appears in the log.
     */
    private void checkLog(CapturedLog.Output log) {
        for (String event : log.events()) {
            check(event.indexOf('\n') < 0 && event.indexOf('\r') < 0, "log event with a line break: " + show(event));
        }
        String raw = log.raw();
        check(raw.lines().count() == log.events().size(), "log lines other than events: " + show(raw));
        String password = new String(SessionModel.PASSWORD, StandardCharsets.US_ASCII);
        check(!USER_VALUE.matcher(raw).replaceAll("user=").contains(password), "password in the log");
        // Lines the engine cannot parse are logged in part ("ignoring ...", an unknown mechanism
        // name): it cannot know that they hold a credential. Everything else must not show one.
        String parsed = String.join("\n", log.events().stream()
                .filter(e -> !e.contains(" - ignoring ") && !e.contains("reason=\"unsupported mechanism\""))
                .toList());
        for (String field : credentialFields(input)) {
            check(!parsed.contains(field), "credential field in the log: " + field);
        }
    }

    private static final java.util.regex.Pattern USER_VALUE = java.util.regex.Pattern.compile("user=\"(\\\\.|[^\"\\\\])*\"");

    /**
     * The resp= values of AUTH lines and the data of CONT lines, those long enough to be telling,
     * except those that the client also sent inside a rip=, which is logged as it came, and
     * mechanism names.
     */
    static List<String> credentialFields(byte[] input) {
        List<String> found = new ArrayList<>();
        List<String> rips = new ArrayList<>();
        for (String line : new String(input, StandardCharsets.UTF_8).split("\r?\n")) {
            String[] f = line.split("\t", -1);
            if (f[0].equals("AUTH")) {
                for (int i = 3; i < f.length; i++) {
                    if (f[i].startsWith("resp=") && f[i].length() >= 17) {
                        found.add(f[i].substring(5));
                    } else if (f[i].startsWith("rip=")) {
                        rips.add(f[i]);
                    }
                }
            } else if (f[0].equals("CONT") && f.length > 2 && f[2].length() >= 12) {
                found.add(f[2]);
            }
        }
        found.removeIf(field -> rips.stream().anyMatch(rip -> rip.contains(field)));
        // A field that is a mechanism's name ("SCRAM-SHA-256" after a dropped TAB) is logged as
        // the mechanism, not as a credential.
        found.removeIf(field -> org.saslauth.mech.Mechanisms.BUILT_IN.stream().anyMatch(m -> m.name().equalsIgnoreCase(field)));
        return found;
    }

    private static List<String> lines(byte[] bytes, int from, int to) {
        if (from == to) {
            return List.of();
        }
        check(bytes[to - 1] == '\n', "output does not end in LF");
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes, from, to - from)).toString();
        } catch (CharacterCodingException e) {
            throw new AssertionError("output is not UTF-8");
        }
        return List.of(text.substring(0, text.length() - 1).split("\n", -1));
    }

    /** The server configuration; the input is shown by {@link FuzzRun}. */
    @Override
    public String toString() {
        return "Session[mechanisms=" + mechanisms + ", maxPending=" + maxPending + ", failureDelay="
                + failureDelay.toMillis() + "ms, penalty=" + penalty + ", maxAuthRate=" + maxAuthRate + ", "
                + input.length + " bytes]";
    }
}
