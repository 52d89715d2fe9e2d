package org.saslauth.fuzz;

import java.time.Duration;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.lifecycle.AddLifecycleHook;

/**
 * Hostile clients against the engine: random and mutated protocol lines, raw bytes, invalid
 * UTF-8, overlong lines, NULs, lone CRs, floods of ids. After every session: serve returned
 * without an exception and with the right status, the handshake and every reply are well-formed
 * lines, every AUTH got its one final reply (see {@link SessionModel} for the exact rule), no OK
 * went out without the password (or for OREORE when it is off), and the log held no line break
 * inside an event, no password outside a user name, and no resp= or CONT data as sent.
 *
 * <p>The tries below are the CI budget (well under a minute on two cores); for a long run:
 * {@code mvn test -Dtest=AuthServerFuzzTest -Dfuzz.tries=200000}.
 */
@AddLifecycleHook(FuzzTries.class)
class AuthServerFuzzTest {

    static final int TRIES = 8000;

    @Property(tries = TRIES, shrinking = ShrinkingMode.BOUNDED)
    void protocolLines(@ForAll("lineSessions") Session session) throws Exception {
        coverage(session.serveAndCheck());
    }

    @Property(tries = 2 * TRIES, shrinking = ShrinkingMode.BOUNDED)
    void rawBytes(@ForAll("byteSessions") Session session) throws Exception {
        coverage(session.serveAndCheck());
    }

    @Property(tries = TRIES / 40, shrinking = ShrinkingMode.BOUNDED)
    void withFailureDelay(@ForAll("delayedSessions") Session session) throws Exception {
        coverage(session.serveAndCheck());
    }

    @Property(tries = TRIES / 400, shrinking = ShrinkingMode.BOUNDED)
    void thousandsOfIds(@ForAll("floods") Session session) throws Exception {
        coverage(session.serveAndCheck());
    }

    @Provide
    Arbitrary<Session> lineSessions() {
        return Combinators.combine(mechanisms(), maxPending(), Inputs.sessions(30, true))
                .as((m, p, in) -> new Session(m, p, Duration.ZERO, in));
    }

    @Provide
    Arbitrary<Session> byteSessions() {
        Arbitrary<byte[]> noise = Arbitraries.frequencyOf(
                Inputs.weight(3, Arbitraries.bytes().array(byte[].class).ofMaxSize(3000)),
                Inputs.weight(2, Inputs.noiseLines().list().ofMaxSize(40).map(AuthServerFuzzTest::joinLines)));
        return Combinators.combine(mechanisms(), maxPending(), Inputs.handshakes(), noise)
                .as((m, p, hs, bytes) -> new Session(m, p, Duration.ZERO, concat(Inputs.utf8(hs), bytes)));
    }

    @Provide
    Arbitrary<Session> delayedSessions() {
        return Combinators.combine(mechanisms(), maxPending(), Arbitraries.of(1, 5), Inputs.sessions(20, false))
                .as((m, p, ms, in) -> new Session(m, p, Duration.ofMillis(ms), in));
    }

    /** Thousands of pending exchanges, some ids repeated, against limits below and above. */
    @Provide
    Arbitrary<Session> floods() {
        Arbitrary<Integer> count = Arbitraries.integers().between(1000, 5000);
        Arbitrary<Integer> idSpace = Arbitraries.of(100, 4000, Integer.MAX_VALUE);
        return Combinators.combine(mechanisms(), Arbitraries.of(16, 1000, 10_000), count, idSpace,
                        Arbitraries.longs())
                .as((m, p, n, space, seed) -> {
                    java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
                    StringBuilder b = new StringBuilder("VERSION\t1\t0\nCPID\t1\n");
                    for (int i = 0; i < n; i++) {
                        int id = random.nextInt(space);
                        switch (random.nextInt(6)) {
                            case 0 -> b.append("CONT\t").append(id).append("\tYWxpY2U=\n");
                            case 1 -> b.append("AUTH\t").append(id).append("\tPLAIN\tresp=").append(
                                    Inputs.b64("\0alice\0" + Inputs.PASSWORD)).append('\n');
                            default -> b.append("AUTH\t").append(id).append("\tLOGIN\tservice=smtp\n");
                        }
                    }
                    return new Session(m, p, Duration.ZERO, Inputs.utf8(b.toString()));
                });
    }

    /** Counts the sessions in which each kind of reply occurred, to show the paths walked. */
    private static void coverage(java.util.Set<String> seen) {
        seen.forEach(kind -> Statistics.label("sessions with").collect(kind));
    }

    private static Arbitrary<String> mechanisms() {
        return Arbitraries.of("PLAIN,LOGIN", "PLAIN,LOGIN,OREORE", "LOGIN", "OREORE,PLAIN");
    }

    private static Arbitrary<Integer> maxPending() {
        return Arbitraries.of(1, 2, 3, 5, 16, 128);
    }

    private static byte[] joinLines(java.util.List<byte[]> lines) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] l : lines) {
            out.writeBytes(l);
            out.write('\n');
        }
        return out.toByteArray();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
