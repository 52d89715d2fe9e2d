package org.saslauth.mech;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.saslauth.Clock;
import org.saslauth.Deadline;
import org.saslauth.password.CostlyChecks;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.CredentialStore.Verdict;
import org.saslauth.store.UserNameFormat;

/** Each mechanism against a store that knows alice/secret and a store that is down. */
class MechanismTest {

    /** Records the passwords it was asked about, to prove the mechanism wipes them afterwards. */
    static final class RecordingStore implements CredentialStore {
        final List<byte[]> seen = new ArrayList<>();
        final Map<String, String> users = Map.of("alice", "secret", "émile", "pässword", "blank", "");

        @Override
        public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
            seen.add(password);
            String expected = users.get(user);
            if (expected == null) {
                return Verdict.UNKNOWN_USER;
            }
            return expected.equals(new String(password, StandardCharsets.UTF_8)) ? Verdict.ACCEPTED : Verdict.WRONG_PASSWORD;
        }
    }

    final RecordingStore store = new RecordingStore();
    final Credentials credentials = new Credentials(store, UserNameFormat.AS_IS);

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String describe(Step step) {
        if (step instanceof Step.Success s) {
            return "OK " + s.user();
        }
        if (step instanceof Step.Failure f) {
            return "FAIL " + f.reason();
        }
        return "CONT " + new String(((Step.Challenge) step).data(), StandardCharsets.UTF_8);
    }

    @ParameterizedTest(name = "PLAIN [{0}] -> {1}")
    @CsvSource(delimiter = '|', value = {
        "\\0alice\\0secret           | OK alice",
        "alice\\0alice\\0secret      | OK alice",
        "\\0alice\\0wrong            | FAIL WRONG_PASSWORD",
        "\\0bob\\0secret             | FAIL UNKNOWN_USER",
        "bob\\0alice\\0secret        | FAIL AUTHZID_REFUSED",
        "\\0alice\\0secret\\0        | FAIL MALFORMED",
        "\\0alice                    | FAIL MALFORMED",
        "alice                       | FAIL MALFORMED",
        "''                          | FAIL MALFORMED",
        "\\0\\0secret                | FAIL INVALID_USER_NAME",
        "\\0al\\tice\\0secret        | FAIL INVALID_USER_NAME",
        "\\0émile\\0pässword         | OK émile",
        "\\0blank\\0                 | FAIL WRONG_PASSWORD",
    })
    void plain(String message, String expected) {
        byte[] msg = bytes(message.replace("\\0", "\0").replace("\\t", "\t"));
        Exchange ex = new PlainMechanism().newExchange(credentials);
        assertEquals(expected, describe(ex.start(Optional.of(msg.clone()), Deadline.NONE)));
        Exchange continued = new PlainMechanism().newExchange(credentials);
        assertEquals("CONT ", describe(continued.start(Optional.empty(), Deadline.NONE)));
        assertEquals(expected, describe(continued.next(msg.clone(), Deadline.NONE)));
    }

    @Test
    void plainWipesThePasswordItCheckedAndTheMessage() {
        byte[] message = bytes("\0alice\0secret");
        new PlainMechanism().newExchange(credentials).start(Optional.of(message), Deadline.NONE);
        assertEquals(1, store.seen.size());
        assertArrayEquals(new byte[6], store.seen.get(0));
        assertArrayEquals(new byte[message.length], message);
    }

    @Test
    void theEmptyPasswordNeverReachesTheStore() {
        Credentials anyone = new Credentials((u, p, slots, deadline) -> Verdict.ACCEPTED, UserNameFormat.AS_IS);
        assertEquals(Verdict.WRONG_PASSWORD, anyone.verify("alice", new byte[0], Deadline.NONE));
        assertEquals(Verdict.ACCEPTED, anyone.verify("alice", bytes("x"), Deadline.NONE));
    }

    @ParameterizedTest(name = "LOGIN initial [{0}] user [{1}] password [{2}] -> {3}")
    @CsvSource(delimiter = '|', nullValues = "-", value = {
        "-     | alice | secret | OK alice",
        "''    | alice | secret | OK alice",
        "alice | -     | secret | OK alice",
        "alice | -     | wrong  | FAIL WRONG_PASSWORD",
        "-     | bob   | secret | FAIL UNKNOWN_USER",
        "-     | ''    | secret | FAIL INVALID_USER_NAME",
    })
    void login(String initial, String user, String password, String expected) {
        Exchange ex = new LoginMechanism().newExchange(credentials);
        Step first = ex.start(initial == null ? Optional.empty() : Optional.of(bytes(initial)), Deadline.NONE);
        if (user != null) {
            assertEquals("CONT Username:", describe(first));
            first = ex.next(bytes(user), Deadline.NONE);
        }
        assertEquals("CONT Password:", describe(first));
        assertEquals(expected, describe(ex.next(bytes(password), Deadline.NONE)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"PLAIN", "LOGIN"})
    void storeUnavailableIsATemporaryFailure(String name) {
        Credentials down = new Credentials((u, p, slots, deadline) -> Verdict.UNAVAILABLE, UserNameFormat.AS_IS);
        Mechanism m = Mechanisms.parse(name).enabled().get(0);
        Exchange ex = m.newExchange(down);
        Step s = name.equals("PLAIN")
                ? ex.start(Optional.of(bytes("\0alice\0secret")), Deadline.NONE)
                : ex.next(bytes("secret"), Deadline.NONE);
        if (name.equals("LOGIN")) {
            ex = m.newExchange(down);
            ex.start(Optional.of(bytes("alice")), Deadline.NONE);
            s = ex.next(bytes("secret"), Deadline.NONE);
        }
        Step.Failure f = assertInstanceOf(Step.Failure.class, s);
        assertEquals(Step.Reason.UNAVAILABLE, f.reason());
        assertTrue(f.reason().temporary());
    }

    /** Too busy below the mechanism reaches the engine as OVERLOADED, with the deadline it was given. */
    @ParameterizedTest
    @ValueSource(strings = {"PLAIN", "LOGIN"})
    void noSlotBeforeTheDeadlineIsOverloaded(String name) {
        List<Deadline> seen = new ArrayList<>();
        Credentials busy = new Credentials((u, p, slots, deadline) -> {
            seen.add(deadline);
            return Verdict.OVERLOADED;
        }, UserNameFormat.AS_IS);
        Deadline due = Deadline.in(Clock.SYSTEM, Duration.ofSeconds(9));
        Exchange ex = Mechanisms.parse(name).enabled().get(0).newExchange(busy);
        Step s;
        if (name.equals("PLAIN")) {
            s = ex.start(Optional.of(bytes("\0alice\0secret")), due);
        } else {
            ex.start(Optional.of(bytes("alice")), due);
            s = ex.next(bytes("secret"), due);
        }
        assertEquals("FAIL OVERLOADED", describe(s));
        assertTrue(((Step.Failure) s).reason().temporary());
        assertEquals(List.of(due), seen);
    }

    @ParameterizedTest(name = "OREORE [{0}] -> {1}")
    @CsvSource(delimiter = '|', nullValues = "-", value = {
        "anyone     | OK anyone",
        "-          | FAIL MISSING_RESPONSE",
        "''         | FAIL INVALID_USER_NAME",
        "a\\nb      | FAIL INVALID_USER_NAME",
    })
    void oreore(String initial, String expected) {
        Exchange ex = new OreoreMechanism().newExchange(credentials);
        Optional<byte[]> resp = initial == null ? Optional.empty() : Optional.of(bytes(initial.replace("\\n", "\n")));
        assertEquals(expected, describe(ex.start(resp, Deadline.NONE)));
        assertTrue(store.seen.isEmpty(), "OREORE never asks the store");
    }

    @Test
    void wrongGuessesAreTaggedTheSameWayEachTime() {
        Step.Failure a = (Step.Failure) new PlainMechanism().newExchange(credentials).start(Optional.of(bytes("\0alice\0guess1")), Deadline.NONE);
        Step.Failure b = (Step.Failure) new PlainMechanism().newExchange(credentials).start(Optional.of(bytes("\0alice\0guess1")), Deadline.NONE);
        Step.Failure c = (Step.Failure) new PlainMechanism().newExchange(credentials).start(Optional.of(bytes("\0alice\0guess2")), Deadline.NONE);
        assertEquals(a.guess(), b.guess());
        assertTrue(a.guess().isPresent() && !a.guess().equals(c.guess()));
    }

    @ParameterizedTest
    @CsvSource({"plain,PLAIN", "Login,LOGIN", "OREORE,OREORE", "' plain , login ',PLAIN", "cram-md5,CRAM-MD5",
        "Scram-Sha-1,SCRAM-SHA-1", "scram-sha-256,SCRAM-SHA-256"})
    void mechanismListsAreCaseInsensitive(String list, String first) {
        assertEquals(first, Mechanisms.parse(list).enabled().get(0).name());
    }

    @Test
    void unknownMechanismIsNamed() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Mechanisms.parse("PLAIN,DIGEST-MD5"));
        assertTrue(e.getMessage().contains("DIGEST-MD5"));
    }
}
