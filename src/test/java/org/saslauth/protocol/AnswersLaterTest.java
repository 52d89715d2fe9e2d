package org.saslauth.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Mechanisms;
import org.saslauth.penalty.PenaltyPolicy;
import org.saslauth.penalty.PenaltyStore;
import org.saslauth.store.CredentialStore.Verdict;
import org.saslauth.store.UserNameFormat;

/**
 * A penalty store that answers later, on its own thread, as the Redis store does: the engine
 * writes a login's reply when the store's answer comes, once, and a login the store never
 * answers gets its temporary failure at the deadline, the late answer then dropped.
 */
class AnswersLaterTest {

    final ManualScheduler clock = new ManualScheduler();
    /** The answers the store owes, in order. */
    final List<Consumer<PenaltyStore.Outcome>> owed = new ArrayList<>();
    final List<Boolean> rights = new ArrayList<>();

    AuthService service() {
        Credentials credentials = new Credentials((user, password, slots, deadline) ->
                new String(password, StandardCharsets.UTF_8).equals("pw-" + user) ? Verdict.ACCEPTED
                        : Verdict.WRONG_PASSWORD, UserNameFormat.AS_IS);
        PenaltyStore.Opener later = c -> new ForwardingStore(PenaltyPolicy.DEFAULTS, c) {
            @Override
            public boolean banned(String address) {
                return false;
            }

            @Override
            public boolean refusesUnchecked(String rip, String user, String network) {
                return false;
            }

            @Override
            public void record(Attempt attempt, boolean right, Consumer<Outcome> then) {
                owed.add(then);
                rights.add(right);
            }

            @Override
            public boolean answersLater() {
                return true;
            }
        };
        return new AuthService(new Settings(Mechanisms.parse("PLAIN"), credentials, Duration.ofSeconds(2), 32, true, 0,
                Settings.IPV6_PREFIX, later), clock, Runnable::run);
    }

    @Test
    void eachLoginIsAnsweredWhenTheStoreAnswersAndOnce() {
        AuthService service = service();
        AuthConnectionTest.Replies out = new AuthConnectionTest.Replies();
        AuthConnection c = AuthConnectionTest.open(service, out);
        AuthConnectionTest.send(c, AuthConnectionTest.plain(1, "192.0.2.1", "alice", "pw-alice"));
        AuthConnectionTest.send(c, AuthConnectionTest.plain(2, "192.0.2.1", "bob", "pw-bob"));
        AuthConnectionTest.send(c, AuthConnectionTest.plain(3, "192.0.2.1", "carol", "wrong"));
        assertEquals(List.of(), out.afterHandshake(), "nothing before the store answers");
        assertEquals(List.of(true, true, false), rights);
        owed.get(1).accept(new PenaltyStore.Outcome(PenaltyStore.Verdict.BANNED, false));
        owed.get(0).accept(new PenaltyStore.Outcome(PenaltyStore.Verdict.AS_CHECKED, false));
        owed.get(2).accept(new PenaltyStore.Outcome(PenaltyStore.Verdict.AS_CHECKED, false));
        clock.advanceMillis(6000); // the FAILs' delay
        List<String> replies = out.afterHandshake();
        assertEquals(3, replies.size(), replies.toString());
        assertTrue(replies.get(0).startsWith("OK\t1\tuser=alice"), replies.toString());
        assertTrue(replies.stream().anyMatch(r -> r.startsWith("FAIL\t2\tuser=bob") && !r.contains("temp")),
                "a right password refused, as a wrong one: " + replies);
        assertTrue(replies.stream().anyMatch(r -> r.startsWith("FAIL\t3\tuser=carol")), replies.toString());
    }

    @Test
    void aLoginTheStoreNeverAnswersFailsTemporarilyAtItsDeadline() {
        AuthService service = service();
        AuthConnectionTest.Replies out = new AuthConnectionTest.Replies();
        AuthConnection c = AuthConnectionTest.open(service, out);
        AuthConnectionTest.send(c, AuthConnectionTest.plain(7, "192.0.2.1", "alice", "pw-alice"));
        clock.advanceMillis(AuthService.ANSWER_WITHIN.toMillis() - 100);
        assertEquals(List.of(), out.afterHandshake());
        clock.advanceMillis(200);
        List<String> replies = out.afterHandshake();
        assertEquals(1, replies.size(), replies.toString());
        assertTrue(replies.get(0).startsWith("FAIL\t7\t") && replies.get(0).contains("code=temp_fail"), replies.toString());
        owed.get(0).accept(new PenaltyStore.Outcome(PenaltyStore.Verdict.AS_CHECKED, false)); // too late
        clock.advanceMillis(6000);
        assertEquals(replies, out.afterHandshake(), "the late answer is dropped");
    }
}
