package org.saslauth.mech;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saslauth.Deadline;
import org.saslauth.password.ScramHash;

/**
 * SCRAM's server signature tells the client its password was right before the last step: the
 * penalty is asked first, and a refused client gets a FAIL in its place, learning nothing.
 */
class ScramPenaltyTest {

    @TempDir
    Path dir;

    /** A gate that refuses every right password with {@code reason}, or none; it records whom it was asked about. */
    static final class Gate implements Credentials.Gate {
        final Optional<Step.Reason> reason;
        final List<String> asked = new ArrayList<>();

        Gate(Optional<Step.Reason> reason) {
            this.reason = reason;
        }

        @Override
        public Optional<Step.Reason> refusal(String user) {
            return Optional.empty();
        }

        @Override
        public byte[] guessKey() {
            return new byte[32];
        }

        @Override
        public Optional<Step.Reason> refusedDespite(String user) {
            asked.add(user);
            return reason;
        }
    }

    Step login(Gate gate, String password) throws Exception {
        Credentials credentials = ScramMechanismTest.passwdFile(dir, "1x4096/16").gated(gate);
        Exchange ex = new ScramMechanism(ScramHash.SHA_256).newExchange(credentials);
        ScramClient client = new ScramClient(ScramHash.SHA_256, "s0", password, "clientnonce");
        Step first = ex.start(Optional.of(client.first().getBytes(StandardCharsets.UTF_8)), Deadline.in(org.saslauth.Clock.SYSTEM, java.time.Duration.ofSeconds(30)));
        String serverFirst = new String(((Step.Challenge) first).data(), StandardCharsets.US_ASCII);
        return ex.next(client.last(serverFirst).getBytes(StandardCharsets.UTF_8), Deadline.in(org.saslauth.Clock.SYSTEM, java.time.Duration.ofSeconds(30)));
    }

    @Test
    void aRefusedRightPasswordGetsNoServerSignature() throws Exception {
        Gate banned = new Gate(Optional.of(Step.Reason.BANNED));
        Step step = login(banned, "pencil");
        assertTrue(step instanceof Step.Failure f && f.reason() == Step.Reason.BANNED, step.toString());
        assertEquals(List.of("s0"), banned.asked);
    }

    @Test
    void anAdmittedOneDoes() throws Exception {
        Step step = login(new Gate(Optional.empty()), "pencil");
        assertTrue(step instanceof Step.Challenge c && new String(c.data(), StandardCharsets.US_ASCII).startsWith("v="),
                step.toString());
    }

    @Test
    void aWrongPasswordIsNotAskedAbout() throws Exception {
        Gate gate = new Gate(Optional.of(Step.Reason.BANNED));
        Step step = login(gate, "wrong");
        assertTrue(step instanceof Step.Failure f && f.reason() == Step.Reason.WRONG_PASSWORD, step.toString());
        assertEquals(List.of(), gate.asked);
    }
}
