package org.saslauth.fuzz;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestReporter;

/**
 * Hostile clients against the engine: random and mutated protocol lines, raw bytes, invalid
 * UTF-8, overlong lines, NULs, lone CRs, floods of ids. After every session: serve returned
 * without an exception and with the right status, the handshake and every reply are well-formed
 * lines, every AUTH got its one final reply (see {@link SessionModel} for the exact rule), no OK
 * went out without the password (or for OREORE when it is off, or for CRAM-MD5 or SCRAM, whose
 * proofs no fuzzed input holds), and the log held no line break
 * inside an event, no password outside a user name, and no resp= or CONT data as sent.
 *
 * <p>The counts below are the CI budget (well under a minute on two cores); for a long run:
 * {@code mvn test -Dtest=AuthServerFuzzTest -Dfuzz.tries=200000}. A failure names the base seed
 * and the session to replay; see {@link FuzzRun}.
 */
class AuthServerFuzzTest {

    static final int TRIES = 8000;

    @Test
    void protocolLines(TestReporter reporter) {
        FuzzRun.run("protocolLines", TRIES, reporter, random -> {
            Inputs in = new Inputs(random);
            return new Session(mechanisms(in), maxPending(in), Duration.ZERO, in.session(30, true));
        });
    }

    @Test
    void rawBytes(TestReporter reporter) {
        FuzzRun.run("rawBytes", 2 * TRIES, reporter, random -> {
            Inputs in = new Inputs(random);
            return new Session(mechanisms(in), maxPending(in), Duration.ZERO, in.noiseSession());
        });
    }

    @Test
    void withFailureDelay(TestReporter reporter) {
        FuzzRun.run("withFailureDelay", TRIES / 40, reporter, random -> {
            Inputs in = new Inputs(random);
            return new Session(mechanisms(in), maxPending(in), Duration.ofMillis(in.oneOf(1, 5)), in.session(20, false));
        });
    }

    /**
     * The per-address penalty on. Each failure comes from an address of its own or none, so that
     * replies wait milliseconds; one session in a hundred fails three times from one address and
     * waits the penalty's first second.
     */
    @Test
    void withPenalty(TestReporter reporter) {
        FuzzRun.run("withPenalty", TRIES / 32, reporter, random -> {
            boolean shared = random.nextInt(100) == 0;
            Inputs in = new Inputs(random, shared ? Inputs.Rips.SHARED : Inputs.Rips.DISTINCT);
            Duration delay = Duration.ofMillis(in.oneOf(0, 0, 1));
            return new Session(mechanisms(in), maxPending(in), delay, true, 0,
                    shared ? in.repeatedFailures() : in.session(20, false));
        });
    }

    /** A small AUTH rate limit, and sessions long enough to run into it. */
    @Test
    void withRateLimit(TestReporter reporter) {
        FuzzRun.run("withRateLimit", TRIES / 32, reporter, random -> {
            Inputs in = new Inputs(random);
            return new Session(mechanisms(in), maxPending(in), Duration.ZERO, false, in.oneOf(1, 5, 20),
                    in.session(80, false));
        });
    }

    /** Thousands of pending exchanges, some ids repeated, against limits below and above. */
    @Test
    void thousandsOfIds(TestReporter reporter) {
        FuzzRun.run("thousandsOfIds", TRIES / 400, reporter, random -> {
            Inputs in = new Inputs(random);
            int rate = in.oneIn(4) ? 20 : 0;
            return new Session(mechanisms(in), in.oneOf(16, 1000, 10_000), Duration.ZERO, false, rate,
                    in.flood(in.between(1000, 5000), in.oneOf(100, 4000, Integer.MAX_VALUE)));
        });
    }

    private static String mechanisms(Inputs in) {
        return in.oneOf("PLAIN,LOGIN", "PLAIN,LOGIN,OREORE", "LOGIN", "OREORE,PLAIN",
                "PLAIN,CRAM-MD5,SCRAM-SHA-1,SCRAM-SHA-256", "SCRAM-SHA-256,LOGIN,CRAM-MD5");
    }

    private static int maxPending(Inputs in) {
        return in.oneOf(1, 2, 3, 5, 16, 128);
    }
}
