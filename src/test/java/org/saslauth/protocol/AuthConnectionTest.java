package org.saslauth.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.Test;
import org.saslauth.Deadline;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Mechanisms;
import org.saslauth.store.CredentialStore.Verdict;
import org.saslauth.store.UserNameFormat;

/**
 * The engine's timing, exactly: a clock moved by hand, and password checks that take as long as
 * the test says (they move the clock) and run when the test says.
 */
class AuthConnectionTest {

    final ManualScheduler clock = new ManualScheduler();

    /** alice/secret; checking alice's password takes {@link #hashMillis}. */
    long hashMillis;
    /** The deadline the last step for user "timed" was given. */
    volatile Deadline timedDeadline;
    final Credentials credentials = new Credentials((user, password, slots, deadline) -> {
        if (user.equals("timed")) {
            timedDeadline = deadline;
            return Verdict.WRONG_PASSWORD;
        }
        if (user.equals("busy")) {
            return Verdict.OVERLOADED; // every slot for slow hashes taken until the deadline
        }
        if (!user.equals("alice")) {
            return Verdict.UNKNOWN_USER;
        }
        clock.advanceMillis(hashMillis);
        return new String(password, StandardCharsets.UTF_8).equals("secret") ? Verdict.ACCEPTED : Verdict.WRONG_PASSWORD;
    }, UserNameFormat.AS_IS);

    /** Steps handed to the executor, run by {@link #runChecks}. */
    final ArrayDeque<Runnable> queued = new ArrayDeque<>();
    final Executor later = queued::add;

    static final class Replies implements ReplyChannel {
        final List<String> lines = new ArrayList<>();
        final List<String> flushed = new ArrayList<>();

        @Override
        public void write(byte[] line) {
            lines.addAll(List.of(new String(line, StandardCharsets.UTF_8).split("\n")));
        }

        @Override
        public void flush() {
            flushed.clear();
            flushed.addAll(lines);
        }

        @Override
        public boolean isBroken() {
            return false;
        }

        List<String> afterHandshake() {
            return lines.subList(lines.indexOf("DONE") + 1, lines.size());
        }
    }

    AuthService service(String mechs, Duration delay, boolean penalty, int rate, Executor checks) {
        return new AuthService(new Settings(Mechanisms.parse(mechs), credentials, delay, 32, penalty, rate),
                clock, checks);
    }

    static AuthConnection open(AuthService service, Replies replies) {
        AuthConnection c = service.connect(replies);
        c.start();
        return c;
    }

    static void send(AuthConnection c, String line) {
        c.receive(line.getBytes(StandardCharsets.UTF_8), false);
    }

    static String plain(int id, String rip, String user, String password) {
        return "AUTH\t" + id + "\tPLAIN\tservice=smtp\trip=" + rip + "\tresp="
                + Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    void runChecks() {
        Runnable r;
        while ((r = queued.poll()) != null) {
            r.run();
        }
    }

    /** A known user's hash time is taken out of the delay, so both FAILs leave at the same time. */
    @Test
    void failureDelayCountsFromTheRequestsArrival() {
        hashMillis = 300;
        Replies out = new Replies();
        AuthConnection c = open(service("PLAIN", Duration.ofSeconds(2), false, 0, Runnable::run), out);
        send(c, plain(1, "192.0.2.1", "alice", "wrong"));
        assertEquals(List.of(1700L), clock.pendingMillis(), "2 s from arrival, 300 ms of it spent hashing");
        send(c, plain(2, "192.0.2.1", "bob", "wrong"));
        assertEquals(List.of(1700L, 2000L), clock.pendingMillis());
        clock.advanceMillis(1699);
        assertEquals(List.of(), out.afterHandshake());
        clock.advanceMillis(1);
        assertEquals(List.of("FAIL\t1\tuser=alice\treason=Authentication failed"), out.flushed.subList(
                out.flushed.indexOf("DONE") + 1, out.flushed.size()), "written and flushed from the timer");
    }

    /** The penalty lives in the service: failures on two connections from one address add up. */
    @Test
    void penaltyIsSharedByTheConnectionsOfOneService() {
        AuthService service = service("PLAIN", Duration.ofSeconds(2), true, 0, Runnable::run);
        AuthConnection a = open(service, new Replies());
        AuthConnection b = open(service, new Replies());
        send(a, plain(1, "192.0.2.9", "alice", "guess1"));
        send(b, plain(1, "192.0.2.9", "alice", "guess2"));
        send(a, plain(2, "192.0.2.9", "alice", "guess3"));
        send(b, plain(2, "192.0.2.8", "alice", "guess4"));
        assertEquals(List.of(2000L, 2000L, 2000L, 3000L), clock.pendingMillis());
    }

    /**
     * Regression (issue 19, finding 3): five failures from five addresses of one /64 were each
     * delayed by the failure delay alone, as if from five clients.
     */
    @Test
    void thePenaltyCountsAnIpv6PrefixAsOneClient() {
        AuthService service = service("PLAIN", Duration.ofMillis(200), true, 0, Runnable::run);
        AuthConnection c = open(service, new Replies());
        for (int i = 1; i <= 5; i++) {
            send(c, plain(i, "2001:db8:7:9::" + Integer.toHexString(i * 0x1111), "alice", "guess" + i));
        }
        send(c, plain(6, "2001:db8:7:a::1", "alice", "guess6")); // the next /64
        send(c, plain(7, "::ffff:192.0.2.44", "alice", "guess7"));
        send(c, plain(8, "192.0.2.44", "alice", "guess8"));
        send(c, plain(9, "192.0.2.44", "alice", "guess9")); // the third from that IPv4 address
        // in the order they are due: the /64's 200, 200, 1200, 2200, 4200; 200 for the next /64;
        // 200, 200 and 1200 for the IPv4 address, mapped or not
        assertEquals(List.of(200L, 200L, 200L, 200L, 200L, 1200L, 1200L, 2200L, 4200L), clock.pendingMillis());
    }

    /** Regression (issue 19, finding 3): with a limit of 5 a second, 20 AUTHs from one /64 had none refused. */
    @Test
    void theRateLimitCountsAnIpv6PrefixAsOneClient() {
        AuthService service = service("PLAIN", Duration.ZERO, false, 5, Runnable::run);
        List<Replies> replies = new ArrayList<>();
        for (int k = 0; k < 4; k++) {
            Replies r = new Replies();
            replies.add(r);
            AuthConnection c = open(service, r);
            for (int i = 0; i < 5; i++) {
                send(c, plain(i + 1, "2001:db8:7:9:" + k + "::" + i, "alice", "secret"));
            }
        }
        long ok = replies.stream().flatMap(r -> r.afterHandshake().stream()).filter(l -> l.startsWith("OK")).count();
        assertEquals(5, ok, "5 a second for the /64 as a whole");
    }

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Regression (issue 19, finding 1): an exchange that never had its CONT stayed pending for
     * the life of the connection; now it ends after {@link AuthService#EXCHANGE_TIMEOUT} without
     * one, counted from its last challenge.
     */
    @Test
    void anExchangeWithoutAnAnswerToItsChallengeEndsAfterTheTimeout() {
        Replies out = new Replies();
        AuthConnection c = open(service("LOGIN", Duration.ZERO, false, 0, Runnable::run), out);
        long timeout = AuthService.EXCHANGE_TIMEOUT.toMillis();
        send(c, "AUTH\t1\tLOGIN\tservice=smtp");
        clock.advanceMillis(100_000);
        send(c, "AUTH\t2\tLOGIN\tservice=smtp");   // waits from 100 s
        clock.advanceMillis(20_000);
        send(c, "CONT\t1\t" + b64("alice")); // a new challenge: 1 waits again, from 120 s
        assertEquals(List.of("CONT\t1\tVXNlcm5hbWU6", "CONT\t2\tVXNlcm5hbWU6", "CONT\t1\tUGFzc3dvcmQ6"),
                out.afterHandshake());
        clock.advanceMillis(timeout - 20_000 - 1);
        assertEquals(3, out.afterHandshake().size(), "nothing ends before its time");
        clock.advanceMillis(1);
        assertEquals(List.of("FAIL\t2\treason=Request timed out"), out.afterHandshake().subList(3, 4));
        assertEquals(4, out.flushed.size() - out.flushed.indexOf("DONE") - 1, "flushed from the timer");
        clock.advanceMillis(20_000);
        assertEquals(List.of("FAIL\t2\treason=Request timed out", "FAIL\t1\treason=Request timed out"),
                out.afterHandshake().subList(3, 5));
        send(c, "CONT\t1\t" + b64("secret"));
        assertEquals("FAIL\t1\treason=Unknown request id", out.afterHandshake().get(5), "ended: its id is free");
        assertEquals(List.of(), clock.timersMillis(), "no timer left once nothing waits");
    }

    /**
     * Unfinished exchanges of all connections share one memory budget: past it an AUTH gets a
     * temporary failure, and every way an exchange ends gives its share back.
     */
    @Test
    void theBudgetForUnfinishedExchangesIsSharedAndGivenBack() {
        PendingBudget budget = new PendingBudget(3L * PendingBudget.EXCHANGE + 100);
        AuthService service = new AuthService(new Settings(Mechanisms.parse("PLAIN,LOGIN"), credentials,
                Duration.ZERO, 32), clock, Runnable::run, budget);
        Replies ra = new Replies();
        Replies rb = new Replies();
        AuthConnection a = open(service, ra);
        AuthConnection b = open(service, rb);
        send(a, "AUTH\t1\tLOGIN");
        send(a, "AUTH\t2\tLOGIN");
        send(b, "AUTH\t1\tLOGIN");
        send(b, "AUTH\t2\tLOGIN");
        send(b, plain(3, "192.0.2.1", "alice", "secret"));
        assertEquals(List.of("CONT\t1\tVXNlcm5hbWU6",
                "FAIL\t2\treason=Temporary authentication failure\tcode=temp_fail",
                "FAIL\t3\treason=Temporary authentication failure\tcode=temp_fail"), rb.afterHandshake());
        send(a, "CONT\t1\t" + b64("alice"));
        send(a, "CONT\t1\t" + b64("secret"));
        assertEquals("OK\t1\tuser=alice", ra.afterHandshake().get(3));
        send(b, plain(4, "192.0.2.1", "alice", "secret"));
        assertEquals("OK\t4\tuser=alice", rb.afterHandshake().get(3), "room again once one ended");
        send(a, "CONT\t2\t!!");          // invalid base64 ends it
        clock.advanceMillis(AuthService.EXCHANGE_TIMEOUT.toMillis()); // b's 1 times out
        assertEquals(0, budget.used(), "everything given back");
        send(a, "AUTH\t5\tLOGIN");
        a.finish(Duration.ZERO);           // end of input drops what waits for a CONT
        assertEquals(0, budget.used());
        b.close();
        assertEquals(0, budget.used());
    }

    /**
     * Exchanges whose step is still running when the input ends give their share back too, as
     * do initial responses once their step is done; a CONT refused for want of budget ends its
     * exchange with a temporary failure instead of leaving it hanging.
     */
    @Test
    void theBudgetComesBackFromStepsRunningAtTheEndAndFromInitialResponses() {
        PendingBudget budget = new PendingBudget(1L << 20);
        AuthService service = new AuthService(new Settings(Mechanisms.parse("PLAIN,LOGIN"), credentials,
                Duration.ZERO, 32), clock, later, budget);
        AuthConnection a = open(service, new Replies());
        for (int i = 1; i <= 8; i++) {
            send(a, "AUTH\t" + i + "\tLOGIN");
        }
        send(a, "AUTH\t9\tLOGIN\tresp=" + b64("x".repeat(9000)));
        send(a, "CONT\t9\t" + b64("secret"));  // pipelined ahead of its challenge
        assertTrue(budget.used() > 9 * PendingBudget.EXCHANGE + 9000);
        boolean[] done = new boolean[1];
        a.finishThen(Duration.ofSeconds(6), () -> done[0] = true);
        runChecks(); // the steps end after the input did: their challenges can never be answered
        assertTrue(done[0]);
        assertEquals(0, budget.used(), "nothing kept by a connection that is over");

        Replies rb = new Replies();
        AuthConnection b = open(service, rb);
        send(b, "AUTH\t1\tLOGIN\tresp=" + b64("y".repeat(9000)));
        runChecks();
        assertEquals(PendingBudget.EXCHANGE, budget.used(), "the initial response given back after its step");

        PendingBudget small = new PendingBudget(PendingBudget.EXCHANGE + 10);
        AuthService tight = new AuthService(new Settings(Mechanisms.parse("LOGIN"), credentials,
                Duration.ZERO, 32), clock, later, small);
        Replies rc = new Replies();
        AuthConnection c = open(tight, rc);
        send(c, "AUTH\t1\tLOGIN");
        send(c, "CONT\t1\t" + b64("alice-with-a-long-name")); // over the budget while the step runs
        runChecks();
        assertEquals(List.of("FAIL\t1\treason=Temporary authentication failure\tcode=temp_fail"), rc.afterHandshake());
        assertEquals(0, small.used());
    }

    @Test
    void rateLimitRefillsWithTheClockAndCountsPerAddressAcrossConnections() {
        AuthService service = service("PLAIN", Duration.ZERO, false, 2, Runnable::run);
        Replies ra = new Replies();
        Replies rb = new Replies();
        AuthConnection a = open(service, ra);
        AuthConnection b = open(service, rb);
        send(a, plain(1, "192.0.2.1", "alice", "secret"));
        send(a, plain(2, "192.0.2.1", "alice", "secret"));
        send(b, plain(3, "192.0.2.1", "alice", "secret")); // another connection, the same address
        send(b, plain(4, "192.0.2.2", "alice", "secret"));
        assertEquals(List.of("OK\t1\tuser=alice", "OK\t2\tuser=alice"), ra.afterHandshake());
        assertEquals(List.of("FAIL\t3\treason=Too many requests\tcode=temp_fail", "OK\t4\tuser=alice"),
                rb.afterHandshake());
        clock.advanceMillis(499);
        send(b, plain(5, "192.0.2.1", "alice", "secret"));
        clock.advanceMillis(1);
        send(b, plain(6, "192.0.2.1", "alice", "secret"));
        assertEquals(List.of("FAIL\t5\treason=Too many requests\tcode=temp_fail", "OK\t6\tuser=alice"),
                rb.afterHandshake().subList(2, 4), "one token back after half a second at 2/s");
    }

    /**
     * Issue 10, finding 3: a guess pipelined with an unsupported mechanism. The FAIL for the
     * second used to wait for the first's password check, so its arrival timed the check.
     */
    @Test
    void aReplyNeverWaitsForAnotherExchangesPasswordCheck() {
        Replies out = new Replies();
        AuthConnection c = open(service("PLAIN,LOGIN", Duration.ZERO, false, 0, later), out);
        send(c, plain(1, "192.0.2.1", "alice", "wrong"));
        send(c, "AUTH\t2\tXPROBE\tservice=smtp");
        send(c, "AUTH\t3\tLOGIN\tservice=smtp");
        c.flush();
        assertEquals(List.of("FAIL\t2\treason=Unsupported authentication mechanism"), out.afterHandshake(),
                "sent while the check of 1 has not even started");
        runChecks();
        assertEquals(List.of("FAIL\t2\treason=Unsupported authentication mechanism",
                "FAIL\t1\tuser=alice\treason=Authentication failed", "CONT\t3\tVXNlcm5hbWU6"), out.afterHandshake());
        assertEquals(out.lines, out.flushed, "replies from the workers are flushed at once");
    }

    @Test
    void aContPipelinedAheadOfItsChallengeIsAnsweredInOrder() {
        Replies out = new Replies();
        AuthConnection c = open(service("LOGIN", Duration.ZERO, false, 0, later), out);
        send(c, "AUTH\t7\tLOGIN\tservice=smtp");
        send(c, "CONT\t7\tYWxpY2U=");
        send(c, "CONT\t7\tc2VjcmV0");
        runChecks();
        runChecks();
        runChecks();
        assertEquals(List.of("CONT\t7\tVXNlcm5hbWU6", "CONT\t7\tUGFzc3dvcmQ6", "OK\t7\tuser=alice"), out.afterHandshake());
    }

    /** A step that waited too long for a worker would answer too late for Postfix: temp_fail. */
    @Test
    void aStepThatWaitedTooLongForAWorkerIsATemporaryFailure() {
        Replies out = new Replies();
        AuthConnection c = open(service("PLAIN", Duration.ofSeconds(2), false, 0, later), out);
        send(c, plain(1, "192.0.2.1", "alice", "secret"));
        clock.advanceMillis(AuthService.ANSWER_WITHIN.toMillis() + 1);
        runChecks();
        assertEquals(List.of("FAIL\t1\treason=Temporary authentication failure\tcode=temp_fail"), out.afterHandshake());
    }

    /** A step still waiting for a worker at its deadline is answered then, and never checks the password. */
    @Test
    void aQueuedStepIsATemporaryFailureAtItsDeadlineNotLater() {
        Replies out = new Replies();
        AuthConnection c = open(service("PLAIN", Duration.ofSeconds(2), false, 0, later), out);
        send(c, plain(1, "192.0.2.1", "alice", "secret"));
        long deadline = AuthService.ANSWER_WITHIN.toMillis();
        clock.advanceMillis(deadline - 1);
        assertEquals(List.of(), out.afterHandshake(), "nothing before the deadline");
        clock.advanceMillis(1);
        assertEquals(List.of("FAIL\t1\treason=Temporary authentication failure\tcode=temp_fail"),
                out.afterHandshake(), "answered at the deadline");
        assertEquals(out.lines, out.flushed, "and flushed from the timer");
        hashMillis = 60_000; // a check would move the clock by this much
        long before = clock.nanoTime();
        runChecks(); // its turn comes at last
        assertEquals(before, clock.nanoTime(), "the late step checks no password");
        assertEquals(1, out.afterHandshake().size(), "one reply per id: the late step writes nothing");
        hashMillis = 0;
        send(c, plain(1, "192.0.2.1", "alice", "secret"));
        runChecks();
        assertEquals("OK\t1\tuser=alice", out.afterHandshake().get(1), "the id is free again");
    }

    /** A check that runs past the deadline: temp_fail at the deadline; its result, when it comes, is dropped. */
    @Test
    void aStepRunningPastItsDeadlineIsAnsweredAtTheDeadline() {
        Replies out = new Replies();
        AuthConnection c = open(service("PLAIN", Duration.ZERO, false, 0, later), out);
        send(c, plain(1, "192.0.2.1", "alice", "secret"));
        hashMillis = AuthService.ANSWER_WITHIN.toMillis() + 3_000; // the clock moves while it hashes
        List<String> seenAtTheDeadline = new ArrayList<>();
        clock.schedule(() -> seenAtTheDeadline.addAll(out.afterHandshake()),
                AuthService.ANSWER_WITHIN.toNanos() + 1);
        runChecks();
        assertEquals(List.of("FAIL\t1\treason=Temporary authentication failure\tcode=temp_fail"), seenAtTheDeadline,
                "out at the deadline, while the check still ran");
        assertEquals(seenAtTheDeadline, out.afterHandshake(), "no OK after it");
    }

    /** A CONT's deadline counts from the CONT's arrival, not from its AUTH's. */
    @Test
    void eachRequestHasItsOwnDeadline() {
        Replies out = new Replies();
        AuthConnection c = open(service("LOGIN", Duration.ZERO, false, 0, later), out);
        send(c, "AUTH\t1\tLOGIN\tservice=smtp");
        runChecks();
        clock.advanceMillis(60_000); // the user types slowly
        send(c, "CONT\t1\t" + b64("alice"));
        runChecks();
        send(c, "CONT\t1\t" + b64("secret"));
        clock.advanceMillis(AuthService.ANSWER_WITHIN.toMillis() - 1);
        runChecks();
        assertEquals("OK\t1\tuser=alice", out.afterHandshake().get(2), "checked just inside its own 9 s");
    }

    /** A failure delay longer than the deadline allows is cut to it: a FAIL that Postfix still reads. */
    @Test
    void aHeldFailGoesOutByTheDeadline() {
        Replies out = new Replies();
        AuthConnection c = open(service("PLAIN", Duration.ofSeconds(30), false, 0, Runnable::run), out);
        send(c, plain(1, "192.0.2.1", "alice", "wrong"));
        assertEquals(List.of(AuthService.ANSWER_WITHIN.toMillis()), clock.pendingMillis());
        clock.advanceMillis(AuthService.ANSWER_WITHIN.toMillis());
        assertEquals(List.of("FAIL\t1\tuser=alice\treason=Authentication failed"), out.afterHandshake());
    }

    /** The end of input does not wait for a step already answered at its deadline. */
    @Test
    void theEndOfInputDoesNotWaitForAStepAnsweredAtItsDeadline() {
        Replies out = new Replies();
        AuthConnection c = open(service("PLAIN", Duration.ZERO, false, 0, later), out);
        send(c, plain(1, "192.0.2.1", "alice", "secret"));
        boolean[] over = new boolean[1];
        c.finishThen(Duration.ofSeconds(60), () -> over[0] = true);
        assertFalse(over[0], "its reply is due");
        clock.advanceMillis(AuthService.ANSWER_WITHIN.toMillis());
        assertTrue(over[0], "over once the deadline answered it, not 60 s later");
        assertEquals(1, out.afterHandshake().size());
    }

    /** A step's deadline counts from the request's arrival: the time it waited for a worker is spent. */
    @Test
    void aStepIsDueAnswerWithinOfItsRequestsArrival() {
        AuthConnection c = open(service("PLAIN", Duration.ZERO, false, 0, later), new Replies());
        send(c, plain(1, "192.0.2.1", "timed", "secret"));
        clock.advanceMillis(2000);
        runChecks();
        assertEquals(AuthService.ANSWER_WITHIN.minusMillis(2000).toNanos(), timedDeadline.nanosLeft());
        assertEquals(clock, timedDeadline.clock(), "read on the engine's clock");
    }

    /** No slot for a slow hash in time: a temporary failure at once, never "wrong password". */
    @Test
    void aCheckThatFoundNoSlotForItsHashIsATemporaryFailure() throws Exception {
        Replies out = new Replies();
        AuthConnection c = open(service("PLAIN", Duration.ZERO, false, 0, later), out);
        var run = CapturedLog.capture(() -> {
            send(c, plain(1, "192.0.2.1", "busy", "secret"));
            runChecks();
            return null;
        });
        assertEquals(List.of("FAIL\t1\treason=Temporary authentication failure\tcode=temp_fail"), out.afterHandshake());
        assertTrue(run.log().raw().contains("server too busy"), run.log().raw());
        assertFalse(run.log().raw().contains("ERROR"), "an overload is no internal error: " + run.log().raw());
    }

    /** Issue 10, finding 4: one reply per id; reusing an id whose reply is on its way ends the connection. */
    @Test
    void reusingAnIdWhoseReplyIsOnItsWayEndsTheConnection() {
        Replies out = new Replies();
        AuthConnection busy = open(service("PLAIN", Duration.ZERO, false, 0, later), out);
        send(busy, plain(1, "192.0.2.1", "alice", "secret"));
        assertFalse(busy.receive(plain(1, "192.0.2.1", "alice", "secret").getBytes(StandardCharsets.UTF_8), false));
        runChecks();
        assertEquals(List.of("OK\t1\tuser=alice"), out.afterHandshake(), "the first one's reply, and only it");

        Replies out2 = new Replies();
        AuthConnection held = open(service("PLAIN", Duration.ofSeconds(1), false, 0, Runnable::run), out2);
        send(held, plain(1, "192.0.2.1", "alice", "wrong"));
        assertFalse(held.receive(plain(1, "192.0.2.1", "alice", "secret").getBytes(StandardCharsets.UTF_8), false));
        clock.advanceMillis(1000);
        assertEquals(List.of("FAIL\t1\tuser=alice\treason=Authentication failed"), out2.afterHandshake());
    }

    /** The daemon's end of input: no thread waits; the close comes after the last reply due. */
    @Test
    void finishThenRunsOnceAfterTheHeldFailAndTheRunningCheckAreOut() {
        Replies out = new Replies();
        AuthConnection c = open(service("PLAIN", Duration.ofSeconds(2), false, 0, later), out);
        send(c, plain(1, "192.0.2.1", "bob", "wrong"));
        runChecks(); // bob's FAIL is now held for 2 s
        send(c, plain(2, "192.0.2.1", "alice", "secret")); // its check waits for a worker
        List<String> atDone = new ArrayList<>();
        int[] runs = {0};
        c.finishThen(Duration.ofSeconds(6), () -> {
            runs[0]++;
            atDone.addAll(out.flushed);
        });
        assertEquals(0, runs[0], "replies are still due");
        runChecks();
        assertEquals(0, runs[0], "the held FAIL is still due");
        clock.advanceMillis(2000);
        assertEquals(1, runs[0]);
        assertEquals(List.of("OK\t2\tuser=alice", "FAIL\t1\tuser=bob\treason=Authentication failed"),
                atDone.subList(atDone.indexOf("DONE") + 1, atDone.size()), "everything out and flushed first");
        clock.advanceMillis(6000);
        assertEquals(1, runs[0], "once only: the time limit finds it done");
    }

    @Test
    void finishThenRunsAtOnceWhenNothingIsDueAndAtTheLimitWhenACheckNeverEnds() {
        Replies out = new Replies();
        AuthConnection idle = open(service("PLAIN", Duration.ofSeconds(2), false, 0, later), out);
        int[] runs = {0, 0};
        idle.finishThen(Duration.ofSeconds(6), () -> runs[0]++);
        assertEquals(1, runs[0]);

        AuthConnection stuck = open(service("PLAIN", Duration.ofSeconds(2), false, 0, later), new Replies());
        send(stuck, plain(1, "192.0.2.1", "alice", "secret")); // never run
        stuck.finishThen(Duration.ofSeconds(6), () -> runs[1]++);
        clock.advanceMillis(5999);
        assertEquals(0, runs[1]);
        clock.advanceMillis(1);
        assertEquals(1, runs[1]);
        queued.clear();
    }

    @Test
    void finishThenRunsWhenThePeerIsGone() {
        AuthConnection c = open(service("PLAIN", Duration.ofSeconds(2), false, 0, later), new Replies());
        send(c, plain(1, "192.0.2.1", "bob", "wrong"));
        runChecks();
        int[] runs = {0};
        c.finishThen(Duration.ofSeconds(6), () -> runs[0]++);
        assertEquals(0, runs[0]);
        c.close();
        assertEquals(1, runs[0]);
    }

    /** A client that piles up failures faster than their delay lets them out is cut off. */
    @Test
    void aFloodOfFailuresClosesTheConnection() throws Exception {
        Replies out = new Replies();
        AuthConnection c = open(service("PLAIN", Duration.ofSeconds(1), false, 0, Runnable::run), out);
        var run = CapturedLog.capture(() -> {
            int accepted = 0;
            while (c.receive(plain(accepted, "192.0.2.1", "alice", "wrong").getBytes(StandardCharsets.UTF_8), false)) {
                accepted++;
            }
            return accepted;
        });
        assertEquals(RequestHandler.MAX_DELAYED, run.result(), "the line that would hold one more ends it");
        assertTrue(run.log().raw().contains("failure replies waiting: closing the connection"), run.log().raw());
        clock.advanceMillis(1000);
        assertEquals(RequestHandler.MAX_DELAYED, out.afterHandshake().size(), "the replies already due go out");
    }

    /** A flood of junk is logged, but folded after the first warnings. */
    @Test
    void repeatedWarningsAreFolded() throws Exception {
        AuthConnection c = open(service("PLAIN", Duration.ZERO, false, 0, Runnable::run), new Replies());
        var run = CapturedLog.capture(() -> {
            for (int i = 0; i < 5000; i++) {
                send(c, "JUNK " + i);
            }
            clock.advanceMillis(1000);
            send(c, "JUNK last");
            return null;
        });
        long warnings = run.log().events().stream().filter(e -> e.contains("WARN")).count();
        assertTrue(warnings <= AuthConnection.WARNINGS_BEFORE_FOLDING + 3, warnings + " warnings");
        assertTrue(run.log().raw().contains("more warnings like these from this client were not logged"),
                run.log().raw());
    }
}
