package org.saslauth.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.saslauth.Deadline;
import org.saslauth.password.CostlyChecks;
import org.saslauth.password.PasswordSchemes;
import org.saslauth.protocol.Networks;
import org.saslauth.store.CredentialStore.Checked;
import org.saslauth.store.CredentialStore.Verdict;

class AppPasswordStoreTest {

    static final CostlyChecks SLOTS = new CostlyChecks(2);
    static final Instant NOW = Instant.parse("2026-12-03T12:00:00Z");
    static final String PHONE = "k7qm-2xwe-h9tz-p4rn";
    static final String LAPTOP = "a2b3-c4d5-e6f7-g8h9";

    @TempDir
    Path dir;

    @AfterEach
    void noClientLeftOnTheThread() {
        Client.ADDRESS.remove();
        Client.SERVICE.remove();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String hash(String password) {
        return PasswordSchemes.argon2id(bytes(password), 8, 1);
    }

    private static AppPassword app(String name, String password, String networks, String services, String expires,
            String revoked) {
        return new AppPassword("alice", name, PasswordSchemes.parse(hash(password)),
                networks.isEmpty() ? Optional.empty() : Optional.of(Networks.parse(networks)),
                services.isEmpty() ? List.of() : AppPasswordFile.services(services),
                expires.isEmpty() ? Optional.empty() : Optional.of(Instant.parse(expires)), Optional.of(NOW.minusSeconds(60)),
                revoked.isEmpty() ? Optional.empty() : Optional.of(Instant.parse(revoked)));
    }

    /** The passdb: alice with main password "main", as a passwd file would say. */
    static final class Passdb implements CredentialStore {
        final AtomicInteger checks = new AtomicInteger();
        boolean knowsAlice = true;

        @Override
        public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
            checks.incrementAndGet();
            if (!user.equals("alice") || !knowsAlice) {
                return Verdict.UNKNOWN_USER;
            }
            return new String(password, StandardCharsets.UTF_8).equals("main") ? Verdict.ACCEPTED
                    : Verdict.WRONG_PASSWORD;
        }

        @Override
        public Lookup lookup(String user, Deadline deadline) {
            return user.equals("alice") && knowsAlice ? new Lookup.Found(PasswordSchemes.parse("{PLAIN}main"))
                    : new Lookup.UnknownUser();
        }
    }

    private final Passdb passdb = new Passdb();
    private final List<String> used = new ArrayList<>();

    private AppPasswordStore store(boolean required, AppPassword... apps) {
        AppPasswords source = new AppPasswords() {
            @Override
            public Entries of(String user, Deadline deadline) {
                return new Entries.Found(user.equals("alice") ? List.of(apps) : List.of());
            }

            @Override
            public void used(AppPassword password, String address, Deadline deadline) {
                used.add(password.name() + "@" + address);
            }
        };
        return new AppPasswordStore(passdb, source, required, () -> NOW);
    }

    private Checked login(CredentialStore store, String password, String address, String service) {
        Client.ADDRESS.set(address);
        Client.SERVICE.set(service);
        return store.check("alice", bytes(password), SLOTS, Deadline.NONE);
    }

    /**
     * The phone's app password is for 192.0.2.0/24 and 2001:db8::/32, smtp only, until the
     * next day; the laptop's was revoked; the old one expired.
     */
    @ParameterizedTest(name = "{0} from [{1}] for [{2}]")
    @CsvSource(delimiter = '|', value = {
        "k7qm-2xwe-h9tz-p4rn | 192.0.2.7       | smtp | ACCEPTED       |",
        "k7qm-2xwe-h9tz-p4rn | 2001:db8::7     | smtp | ACCEPTED       |",
        "k7qm-2xwe-h9tz-p4rn | ::ffff:192.0.2.7 | smtp | ACCEPTED      |",
        "k7qm-2xwe-h9tz-p4rn | 198.51.100.7    | smtp | REFUSED        | app password 'phone' is not for this address (only 192.0.2.0/24,2001:db8::/32)",
        "k7qm-2xwe-h9tz-p4rn |                 | smtp | REFUSED        | app password 'phone' is limited to 192.0.2.0/24,2001:db8::/32 and the client's address is unknown",
        "k7qm-2xwe-h9tz-p4rn | 192.0.2.7       | imap | REFUSED        | app password 'phone' is not for service imap (only smtp)",
        "k7qm-2xwe-h9tz-p4rn | 192.0.2.7       |      | REFUSED        | app password 'phone' is not for an unnamed service (only smtp)",
        "a2b3-c4d5-e6f7-g8h9 | 198.51.100.7    | imap | REFUSED        | app password 'laptop' was revoked at 2026-12-02T00:00:00Z",
        "old0-old0-old0-old0 | 198.51.100.7    | smtp | REFUSED        | app password 'old' expired at 2026-12-01T00:00:00Z",
        "main                | 198.51.100.7    | smtp | ACCEPTED       |",
        "wrong               | 192.0.2.7       | smtp | WRONG_PASSWORD |",
    })
    void eachRuleOfAnAppPassword(String password, String address, String service, Verdict verdict, String detail) {
        AppPasswordStore store = store(false,
                app("phone", PHONE, "192.0.2.0/24,2001:db8::/32", "smtp", "2026-12-04T00:00:00Z", ""),
                app("laptop", LAPTOP, "", "", "", "2026-12-02T00:00:00Z"),
                app("old", "old0-old0-old0-old0", "", "", "2026-12-01T00:00:00Z", ""));
        Checked c = login(store, password, address == null ? "" : address, service == null ? "" : service);
        assertEquals(verdict, c.verdict());
        assertEquals(Optional.ofNullable(detail), c.detail());
        assertEquals("alice", c.user());
    }

    @Test
    void anAppPasswordDoesNotAskThePassdbsPasswordButRecordsTheUse() {
        AppPasswordStore store = store(false, app("phone", PHONE, "", "", "", ""));
        assertEquals(Verdict.ACCEPTED, login(store, PHONE, "192.0.2.7", "smtp").verdict());
        assertEquals(0, passdb.checks.get());
        assertEquals(List.of("phone@192.0.2.7"), used);
        assertEquals(Verdict.WRONG_PASSWORD, login(store, "nope", "192.0.2.7", "smtp").verdict());
        assertEquals(1, passdb.checks.get(), "no app password matched: the passdb was asked");
    }

    @Test
    void aRefusedAppPasswordNeverFallsBackToThePassdb() {
        AppPasswordStore store = store(false, app("phone", PHONE, "192.0.2.0/24", "", "", ""));
        assertEquals(Verdict.REFUSED, login(store, PHONE, "198.51.100.7", "smtp").verdict());
        assertEquals(0, passdb.checks.get());
        assertTrue(used.isEmpty(), "a refused login is no use");
    }

    @ParameterizedTest(name = "required={0}")
    @CsvSource({"false, ACCEPTED", "true, REFUSED"})
    void appPasswordsRequiredRefusesTheMainPassword(boolean required, Verdict verdict) {
        AppPasswordStore store = store(required, app("phone", PHONE, "", "", "", ""));
        Checked c = login(store, "main", "192.0.2.7", "smtp");
        assertEquals(verdict, c.verdict());
        if (required) {
            assertEquals(Optional.of("main password refused: the user has app passwords and app-passwords-required is on"),
                    c.detail());
            assertEquals(Verdict.WRONG_PASSWORD, login(store, "nope", "192.0.2.7", "smtp").verdict(),
                    "a wrong password stays a wrong password");
            assertEquals(Verdict.ACCEPTED, login(store, PHONE, "192.0.2.7", "smtp").verdict());
        }
    }

    @Test
    void withoutALiveAppPasswordTheMainPasswordStillWorks() {
        AppPasswordStore store = store(true, app("laptop", LAPTOP, "", "", "", "2026-12-02T00:00:00Z"),
                app("old", "old0-old0-old0-old0", "", "", "2026-12-01T00:00:00Z", ""));
        assertEquals(Verdict.ACCEPTED, login(store, "main", "192.0.2.7", "smtp").verdict());
        assertEquals(Verdict.UNKNOWN_USER, store.check("bob", bytes("x"), SLOTS, Deadline.NONE).verdict());
    }

    @Test
    void anAppPasswordOfAUserThePassdbNoLongerHasIsRefused() {
        AppPasswordStore store = store(false, app("phone", PHONE, "", "", "", ""));
        passdb.knowsAlice = false;
        Checked c = login(store, PHONE, "192.0.2.7", "smtp");
        assertEquals(Verdict.REFUSED, c.verdict());
        assertEquals(Optional.of("app password 'phone' is of a user the passdb no longer has"), c.detail());
    }

    @Test
    void appPasswordsUnavailableIsATemporaryFailureNeverThePassdbAlone() {
        AppPasswordStore store = new AppPasswordStore(passdb, (user, deadline) -> new AppPasswords.Entries.Unavailable(),
                false, () -> NOW);
        assertEquals(Verdict.UNAVAILABLE, login(store, "main", "192.0.2.7", "smtp").verdict());
        assertEquals(0, passdb.checks.get());
    }

    @Test
    void noSlotForTheHashIsOverloaded() throws Exception {
        CostlyChecks none = new CostlyChecks(1);
        AppPassword costly = new AppPassword("alice", "phone", PasswordSchemes.parse(PasswordSchemes.argon2id(bytes(PHONE),
                8192, 1)), Optional.empty(), List.of(), Optional.empty(), Optional.empty(), Optional.empty());
        AppPasswordStore store = store(false, costly);
        var slow = PasswordSchemes.parse(PasswordSchemes.argon2id(bytes("x"), 65536, 3));
        Thread holder = new Thread(() -> none.check(slow, bytes("y"), Deadline.NONE));
        holder.start();
        Thread.sleep(100);
        Checked c = store.check("alice", bytes(PHONE), none, Deadline.in(org.saslauth.Clock.SYSTEM, Duration.ofMillis(1)));
        holder.join();
        assertEquals(Verdict.OVERLOADED, c.verdict());
    }

    /**
     * Regression guard for the cache: a cache of the passdb sits behind the app passwords, so a
     * revoked app password stops at the next look at the file even though it logged in a moment
     * before, and the cache only ever remembers the main password.
     */
    @Test
    void aRevokedAppPasswordStopsWhateverTheCacheOfThePassdbHolds() throws Exception {
        Path file = dir.resolve("app-passwords");
        Files.writeString(file, "alice:phone:" + hash(PHONE) + "\n");
        Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis() - 100_000));
        AtomicLong clock = new AtomicLong(1_000_000_000L);
        AppPasswordFile apps = AppPasswordFile.load(file, Duration.ofSeconds(1), Duration.ofSeconds(1), clock::get);
        CachedStore cached = new CachedStore(passdb, Duration.ofHours(1), Duration.ZERO, 100);
        AppPasswordStore store = new AppPasswordStore(cached, apps, false, () -> NOW);
        assertEquals(Verdict.ACCEPTED, login(store, PHONE, "192.0.2.7", "smtp").verdict());
        assertEquals(Verdict.ACCEPTED, login(store, PHONE, "192.0.2.7", "smtp").verdict());
        assertEquals(0, cached.size(), "the app password never reached the cache");
        Files.writeString(file, "alice:phone:" + hash(PHONE) + ":revoked=2026-12-03T11:59:00Z\n");
        Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis() - 50_000));
        clock.addAndGet(1_000_000_000L);
        Checked c = login(store, PHONE, "192.0.2.7", "smtp");
        assertEquals(Verdict.REFUSED, c.verdict());
        assertFalse(c.detail().orElseThrow().contains("$argon2id"), "never the hash");
        assertEquals(Verdict.ACCEPTED, login(store, "main", "192.0.2.7", "smtp").verdict());
        assertEquals(1, cached.size(), "the main password is cached as before");
    }
}
