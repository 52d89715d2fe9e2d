package org.saslauth.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Mechanisms;
import org.saslauth.store.CredentialStore.Verdict;
import org.saslauth.store.UserNameFormat;

/**
 * Regressions of the per-request deadline: a login that is over leaves no timer behind on a
 * spawned helper; the daemon's end-of-input wait, shorter than the deadline, still answers every
 * step; a result that comes after its deadline, before a late sweep, is never sent.
 */
class DeadlineWatchTest {

    final ManualScheduler clock = new ManualScheduler();
    final Credentials credentials = new Credentials((user, password, slots, deadline) ->
            new String(password, StandardCharsets.UTF_8).equals("secret") ? Verdict.ACCEPTED : Verdict.WRONG_PASSWORD,
            UserNameFormat.AS_IS);
    final ArrayDeque<Runnable> queued = new ArrayDeque<>();
    final Executor later = queued::add;

    static final class Replies implements ReplyChannel {
        final List<String> lines = new ArrayList<>();

        @Override
        public void write(byte[] line) {
            lines.addAll(List.of(new String(line, StandardCharsets.UTF_8).split("\n")));
        }

        @Override
        public void flush() {}

        @Override
        public boolean isBroken() {
            return false;
        }

        List<String> afterHandshake() {
            return lines.subList(lines.indexOf("DONE") + 1, lines.size());
        }
    }

    Settings settings() {
        return new Settings(Mechanisms.parse("PLAIN"), credentials, Duration.ZERO, 32, false, 0);
    }

    AuthService service(Executor checks) {
        return new AuthService(settings(), clock, checks);
    }

    static String plain(int id, String user, String password) {
        return "AUTH\t" + id + "\tPLAIN\tservice=smtp\trip=192.0.2.1\tresp="
                + Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    static void send(AuthConnection c, String line) {
        c.receive(line.getBytes(StandardCharsets.UTF_8), false);
    }

    void runChecks() {
        Runnable r;
        while ((r = queued.poll()) != null) {
            r.run();
        }
    }

    /**
     * A successful PLAIN login with no failure delay puts nothing on a spawned helper's timer (no
     * timer thread for it): its pool starts it at once and the layers below end their waits at
     * the deadline. Beyond the pool's workers a step may wait, and its deadline is watched.
     */
    @Test
    void aLoginOnASpawnedHelperLeavesNoTimerBehind() {
        Replies out = new Replies();
        AuthConnection c = AuthService.forOneConnection(settings(), clock, later).connect(out);
        c.start();
        send(c, plain(1, "alice", "secret"));
        runChecks();
        assertEquals(List.of("OK\t1\tuser=alice"), out.afterHandshake());
        assertEquals(List.of(), clock.timersMillis(), "a login that is over leaves nothing on the timer");
        for (int id = 2; id < 3 + AuthService.SPAWN_WORKERS; id++) {
            send(c, plain(id, "alice", "secret"));
        }
        assertEquals(List.of(AuthService.ANSWER_WITHIN.toMillis()), clock.timersMillis(),
                "more steps than workers: one watch of their deadlines");
        runChecks();
        assertEquals(1 + 1 + AuthService.SPAWN_WORKERS, out.afterHandshake().size());
    }

    /**
     * The daemon ends a connection whose input ended after AuthHandler.FINISH (6 s), but a step
     * is allowed to run until its deadline (9 s) and is then answered FAIL temp_fail: a step still
     * queued or running 6 s after the client half-closed gets no reply at all.
     */
    @Test
    void theDaemonsFinishIsShorterThanTheDeadline() {
        Replies out = new Replies();
        AuthConnection c = service(later).connect(out);
        c.start();
        send(c, plain(7, "alice", "secret"));
        AtomicBoolean closed = new AtomicBoolean();
        c.finishThen(org.saslauth.daemon.AuthHandler.FINISH, () -> closed.set(true));
        clock.advanceMillis(6_000);
        assertTrue(closed.get(), "closed at FINISH");
        clock.advanceMillis(3_000);
        runChecks();
        assertEquals(List.of("FAIL\t7\treason=Temporary authentication failure\tcode=temp_fail"), out.afterHandshake(),
                "id 7 got one reply before the connection was closed");
    }

    /** A clock that moves when told, with a timer that lags: nothing runs until the test says. */
    static final class LaggingScheduler implements Scheduler {
        long now = 1_000_000_000L;
        final List<Runnable> tasks = new ArrayList<>();

        @Override
        public synchronized long nanoTime() {
            return now;
        }

        @Override
        public synchronized void schedule(Runnable task, long delayNanos) {
            tasks.add(task);
        }
    }

    /**
     * The daemon's one timer thread serves every connection and can run late: a result that
     * comes 9.5 s after its AUTH, before the sweep, is answered as the sweep would have.
     */
    @Test
    void aResultAfterTheDeadlineIsNotSentBeforeALateSweep() {
        LaggingScheduler clock = new LaggingScheduler();
        Credentials credentials = new Credentials((user, password, slots, deadline) -> {
            synchronized (clock) {
                clock.now += 9_500_000_000L; // a slow directory: the answer comes 9.5 s after the AUTH
            }
            return Verdict.ACCEPTED;
        }, UserNameFormat.AS_IS);
        ArrayDeque<Runnable> queued = new ArrayDeque<>();
        AuthService service = new AuthService(new Settings(Mechanisms.parse("PLAIN"), credentials,
                Duration.ZERO, 32, false, 0), clock, queued::add);
        List<String> out = new ArrayList<>();
        AuthConnection c = service.connect(new ReplyChannel() {
            @Override
            public void write(byte[] line) {
                out.add(new String(line, StandardCharsets.UTF_8).trim());
            }

            @Override
            public void flush() {}

            @Override
            public boolean isBroken() {
                return false;
            }
        });
        c.start();
        out.clear();
        c.receive(("AUTH\t1\tPLAIN\tservice=smtp\trip=192.0.2.1\tresp=" + Base64.getEncoder()
                .encodeToString("\0alice\0secret".getBytes(StandardCharsets.UTF_8))).getBytes(StandardCharsets.UTF_8), false);
        queued.poll().run();
        List<Runnable> timers = new ArrayList<>(clock.tasks);
        timers.forEach(Runnable::run); // the sweep, late
        assertEquals(List.of("FAIL\t1\treason=Temporary authentication failure\tcode=temp_fail"), out,
                "what went out for a step answered 9.5 s after its AUTH (deadline 9 s)");
    }
}
