package org.saslauth.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Mechanisms;
import org.saslauth.penalty.Exempt;
import org.saslauth.penalty.PenaltyPolicy;
import org.saslauth.penalty.PenaltyStore;
import org.saslauth.Deadline;
import org.saslauth.password.CostlyChecks;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.CredentialStore.Verdict;
import org.saslauth.store.UserNameFormat;

/**
 * The attack cases of issue 22 against the engine with the memory store and the default
 * thresholds, on a clock moved by hand: each login on a connection of its own, as smtpd
 * processes come and go, and answered (its FAIL's delay run out) before the next.
 */
class AccountDefenceTest {

    final ManualScheduler clock = new ManualScheduler();
    /** Passwords checked by the passdb: a refusal "unchecked" must not add to it. */
    final AtomicInteger checks = new AtomicInteger();
    /** Every user NAME has the password pw-NAME. */
    final Credentials credentials = new Credentials((user, password, slots, deadline) -> {
        checks.incrementAndGet();
        return new String(password, StandardCharsets.UTF_8).equals("pw-" + user) ? Verdict.ACCEPTED
                : Verdict.WRONG_PASSWORD;
    }, UserNameFormat.AS_IS);

    PenaltyPolicy policy = PenaltyPolicy.DEFAULTS;
    AuthService service;

    AuthService service() {
        if (service == null) {
            service = new AuthService(new Settings(Mechanisms.parse("PLAIN,LOGIN"), credentials, Duration.ofSeconds(2), 32,
                    true, 0, Settings.IPV6_PREFIX, new PenaltyStore.Memory(policy)), clock, Runnable::run);
        }
        return service;
    }

    /** The reply to one PLAIN login, without its id: "OK" or "FAIL". */
    String login(String rip, String user, String password) {
        AuthConnectionTest.Replies out = new AuthConnectionTest.Replies();
        AuthConnection c = AuthConnectionTest.open(service(), out);
        AuthConnectionTest.send(c, AuthConnectionTest.plain(1, rip, user, password));
        clock.advanceMillis(6000);
        List<String> replies = out.afterHandshake();
        assertEquals(1, replies.size(), replies.toString());
        return replies.get(0).split("\t")[0];
    }

    void minutes(long m) {
        clock.advanceMillis(m * 60_000);
    }

    @Test
    void aTypoThenTheRightPassword() {
        assertEquals("FAIL", login("192.0.2.1", "alice", "pw-alcie"));
        assertEquals("OK", login("192.0.2.1", "alice", "pw-alice"));
    }

    /** 37 colleagues (5 of them mistyping once) and 3 phones retrying a stale password, for a day. */
    @Test
    void anOfficeBehindOneAddressIsNeverBanned() {
        String nat = "198.51.100.7";
        for (int hour = 0; hour < 24; hour++) {
            for (int phone = 0; phone < 3; phone++) {
                for (int retry = 0; retry < 6; retry++) {
                    assertEquals("FAIL", login(nat, "phone" + phone, "old-password"));
                }
            }
            for (int colleague = 0; colleague < 37; colleague++) {
                if (colleague < 5) {
                    assertEquals("FAIL", login(nat, "c" + colleague, "typo" + hour));
                }
                assertEquals("OK", login(nat, "c" + colleague, "pw-c" + colleague), "colleague " + colleague);
            }
            for (int phone = 0; phone < 3; phone++) {
                assertEquals("OK", login(nat, "phone" + phone, "pw-phone" + phone), "a phone updated");
            }
            minutes(30);
        }
        assertEquals(List.of(), service.penalties.bans());
    }

    @Test
    void anAddressFailingOnHundredUsersIsRefusedUncheckedEvenWithTheRightPassword() {
        String stuffer = "203.0.113.66";
        for (int i = 0; i < 100; i++) {
            assertEquals("FAIL", login(stuffer, "user" + i, "Summer2026!"));
        }
        int before = checks.get();
        assertEquals("FAIL", login(stuffer, "user3", "pw-user3"));
        assertEquals(before, checks.get(), "no password checked for a banned address");
        assertEquals("OK", login("203.0.113.67", "user3", "pw-user3"), "the address next door is not banned");
        assertEquals(1, service.penalties.bans().size());
    }

    @Test
    void aBanEndsAndGrowsWhenTheAddressReturns() {
        String guesser = "203.0.113.9";
        for (int i = 0; i < policy.banUsers(); i++) {
            login(guesser, "u" + i, "x");
        }
        assertEquals("FAIL", login(guesser, "u1", "pw-u1"));
        minutes(16);
        assertEquals("OK", login(guesser, "u1", "pw-u1"), "the first ban lasts 15 minutes");
        for (int i = 0; i < policy.banUsers(); i++) {
            login(guesser, "v" + i, "x");
        }
        minutes(16);
        assertEquals("FAIL", login(guesser, "u1", "pw-u1"), "the second ban lasts 30 minutes");
        minutes(15);
        assertEquals("OK", login(guesser, "u1", "pw-u1"));
    }

    @Test
    void distinctWrongPasswordsOnOneUserBanToo() {
        for (int i = 0; i < policy.banGuesses(); i++) {
            assertEquals("FAIL", login("203.0.113.10", "alice", "guess" + i));
        }
        assertEquals("FAIL", login("203.0.113.10", "alice", "pw-alice"));
        assertEquals("OK", login("203.0.113.11", "alice", "pw-alice"));
    }

    @Test
    void aUserAttackedFromThreeHundredAddresses() {
        assertEquals("OK", login("192.0.2.50", "victim", "pw-victim"), "the owner's usual address");
        for (int i = 0; i < 300; i++) {
            assertEquals("FAIL", login("10.1." + (i / 200) + "." + (i % 200 + 1), "victim", "guess" + i));
        }
        int before = checks.get();
        assertEquals("FAIL", login("10.9.9.9", "victim", "pw-victim"), "the botnet's right guess from a new address");
        assertEquals(before, checks.get(), "refused unchecked");
        assertEquals("OK", login("192.0.2.50", "victim", "pw-victim"), "the owner from her known address");
        assertEquals("OK", login("192.0.2.51", "victim", "pw-victim"), "and from its /24");
        assertEquals("OK", login("10.1.0.7", "other", "pw-other"), "other users from the botnet's addresses");
        assertEquals(1, service.penalties.protections().size());
        minutes(61);
        assertEquals("OK", login("10.9.9.9", "victim", "pw-victim"), "the protection ends an hour after the attack");
    }

    @Test
    void anExemptNetworkIsNeverBanned() {
        policy = new PenaltyPolicy(policy.window(), policy.banUsers(), policy.banGuesses(), policy.banTime(),
                policy.banMax(), policy.prefixBans(), policy.userWindow(), policy.protectAddresses(),
                policy.protectPasswords(), policy.protectTime(), policy.knownFor(), Exempt.parse("192.0.2.0/28, 2001:db8::/32"));
        for (int i = 0; i < 50; i++) {
            login("192.0.2.3", "u" + i, "x");
            login("2001:db8::5", "u" + i, "x");
        }
        assertEquals("OK", login("192.0.2.3", "u1", "pw-u1"));
        assertEquals("OK", login("2001:db8::5", "u1", "pw-u1"));
        for (int i = 0; i < 10; i++) {
            login("192.0.2.30", "u" + i, "x");
        }
        assertEquals("FAIL", login("192.0.2.30", "u1", "pw-u1"), "outside the exempt /28");
    }

    @Test
    void manyBansInOneSlash24SlowTheWholeSlash24() {
        for (int host = 1; host <= policy.prefixBans(); host++) {
            for (int i = 0; i < policy.banUsers(); i++) {
                login("192.0.2." + host, "u" + i, "x");
            }
        }
        AuthConnection c = AuthConnectionTest.open(service(), new AuthConnectionTest.Replies());
        AuthConnectionTest.send(c, AuthConnectionTest.plain(1, "192.0.2.200", "alice", "typo"));
        assertEquals(List.of(5000L), clock.pendingMillis(), "the longest delay for a first failure");
        clock.advanceMillis(6000);
        AuthConnectionTest.send(c, AuthConnectionTest.plain(2, "198.51.100.1", "alice", "typo"));
        assertEquals(List.of(2000L), clock.pendingMillis(), "another /24 waits the usual delay");
    }

    @Test
    void theLogSaysWhoIsBannedAndProtectedAndNoPassword() throws Exception {
        var run = CapturedLog.capture(() -> {
            for (int i = 0; i < policy.banUsers(); i++) {
                login("203.0.113.77", "u" + i, "Secret-Guess-" + i);
            }
            for (int i = 0; i < policy.protectAddresses(); i++) {
                login("10.2.0." + (i + 1), "carol", "Secret-Guess-c" + i);
            }
            return null;
        });
        String log = String.join("\n", run.log().events());
        assertTrue(log.contains("penalty: banned rip=203.0.113.77 for 900 s: failed on 10 users, 10 passwords (ban 1"), log);
        assertTrue(log.contains("penalty: protecting user=\"carol\" for 3600 s: failed from 20 addresses"), log);
        assertFalse(log.contains("Secret-Guess"), "no password in the log");
    }

    /** LOGIN, whose user comes in a later step, is refused at its password as a wrong one is, unchecked. */
    @Test
    void aBannedAddressIsRefusedOverLoginToo() {
        for (int i = 0; i < policy.banUsers(); i++) {
            login("203.0.113.88", "u" + i, "x");
        }
        int before = checks.get();
        AuthConnectionTest.Replies out = new AuthConnectionTest.Replies();
        AuthConnection c = AuthConnectionTest.open(service(), out);
        java.util.Base64.Encoder b64 = java.util.Base64.getEncoder();
        AuthConnectionTest.send(c, "AUTH\t1\tLOGIN\tservice=smtp\trip=203.0.113.88");
        AuthConnectionTest.send(c, "CONT\t1\t" + b64.encodeToString("u1".getBytes(StandardCharsets.UTF_8)));
        AuthConnectionTest.send(c, "CONT\t1\t" + b64.encodeToString("pw-u1".getBytes(StandardCharsets.UTF_8)));
        clock.advanceMillis(6000);
        assertEquals(List.of("CONT\t1\tVXNlcm5hbWU6", "CONT\t1\tUGFzc3dvcmQ6", "FAIL\t1\tuser=u1\treason=Authentication failed"),
                out.afterHandshake());
        assertEquals(before, checks.get(), "no password checked");
    }

    /**
     * A passdb that names users its own way (an SQL store's user column): a banned client's
     * right password is answered with the name the client sent, as a wrong one is, not with the
     * passdb's, which would tell the client that its guess was right.
     */
    @Test
    void aRefusedRightPasswordIsAnsweredWithTheClientsNameAsAWrongOneIs() {
        CredentialStore renaming = new CredentialStore() {
            @Override
            public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
                return check(user, password, slots, deadline).verdict();
            }

            @Override
            public Checked check(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
                boolean right = new String(password, StandardCharsets.UTF_8).equals("pw-" + user.toLowerCase());
                return new Checked(right ? Verdict.ACCEPTED : Verdict.WRONG_PASSWORD, user.toLowerCase());
            }

            @Override
            public void close() {}
        };
        PenaltyStore.Opener bansOnceChecked = clock -> new ForwardingStore(policy, clock) { // as Redis, at a server that saw no ban
            @Override
            public boolean banned(String address) {
                return false;
            }

            @Override
            public boolean refusesUnchecked(String rip, String user, String network) {
                return false;
            }
        };
        service = new AuthService(new Settings(Mechanisms.parse("PLAIN"), new Credentials(renaming, UserNameFormat.AS_IS),
                Duration.ofSeconds(2), 32, true, 0, Settings.IPV6_PREFIX, bansOnceChecked), clock, Runnable::run);
        for (int i = 0; i < policy.banUsers() - 1; i++) {
            login("203.0.113.99", "u" + i, "x");
        }
        List<String> replies = new java.util.ArrayList<>();
        for (String password : new String[] {"wrong", "pw-alice"}) {
            AuthConnectionTest.Replies out = new AuthConnectionTest.Replies();
            AuthConnection c = AuthConnectionTest.open(service, out);
            AuthConnectionTest.send(c, AuthConnectionTest.plain(1, "203.0.113.99", "Alice", password));
            clock.advanceMillis(6000);
            replies.add(out.afterHandshake().get(0));
        }
        assertEquals(List.of("FAIL\t1\tuser=Alice\treason=Authentication failed",
                "FAIL\t1\tuser=Alice\treason=Authentication failed"), replies, "the tenth user banned it");
    }
}
