package org.saslauth.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.saslauth.mech.Credentials;
import org.saslauth.password.PasswordSchemes;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.UserNameFormat;
import org.saslauth.Deadline;
import org.saslauth.password.CostlyChecks;

/** The auth-master protocol on one connection, without sockets: lines in, replies out. */
class UserdbConnectionTest {

    /** Knows "alice"; "db-down" is a store that cannot answer; "ldap-only" one that cannot look up. */
    static final CredentialStore STORE = new CredentialStore() {
        @Override
        public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
            return Verdict.UNKNOWN_USER;
        }

        @Override
        public Lookup lookup(String user, Deadline deadline) {
            return switch (user) {
                case "alice" -> new Lookup.Found(PasswordSchemes.parse("{PLAIN}x"));
                case "db-down" -> new Lookup.Unavailable();
                case "ldap-only" -> new Lookup.Unsupported();
                case "boom" -> throw new IllegalStateException("store bug");
                default -> new Lookup.UnknownUser();
            };
        }
    };

    private static final Credentials CREDENTIALS = new Credentials(STORE, new UserNameFormat(true, Optional.empty()));

    /** Replies as lines, without their LF. */
    static final class Recorder implements ReplyChannel {
        final List<String> lines = new ArrayList<>();
        private final StringBuilder written = new StringBuilder();

        @Override
        public void write(byte[] line) {
            written.append(new String(line, StandardCharsets.UTF_8));
        }

        @Override
        public void flush() {
            for (String l : written.toString().split("\n")) {
                lines.add(l);
            }
            written.setLength(0);
        }

        @Override
        public boolean isBroken() {
            return false;
        }
    }

    /** Runs lookups only when told. */
    static final class Queue implements Executor {
        final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
        boolean rejecting;

        @Override
        public void execute(Runnable task) {
            if (rejecting) {
                throw new RejectedExecutionException("stopping");
            }
            tasks.add(task);
        }

        void runAll() {
            Runnable t;
            while ((t = tasks.poll()) != null) {
                t.run();
            }
        }
    }

    private final Recorder out = new Recorder();

    private UserdbConnection connect(Executor workers) {
        UserdbConnection c = new UserdbService(CREDENTIALS, workers).connect(out, "#1 test");
        c.start();
        return c;
    }

    private static boolean push(UserdbConnection c, String line) {
        return c.receive(line.getBytes(StandardCharsets.UTF_8), false);
    }

    @Test
    void greetsAtOnceThenTheHandshakeIsTheClientsVersion() {
        UserdbConnection c = connect(Runnable::run);
        assertEquals(List.of("VERSION\t1\t0", "SPID\t" + ProcessHandle.current().pid()), out.lines);
        assertFalse(c.handshakeDone());
        assertTrue(push(c, "VERSION\t1\t1"));
        assertTrue(c.handshakeDone());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "found, canonical name       | USER\t1\tAlice\tservice=smtp      | USER\t1\talice",
        "not found                   | USER\t2\tmallory\tservice=smtp    | NOTFOUND\t2",
        "store down: temporary       | USER\t3\tdb-down                  | FAIL\t3\treason=User store unavailable",
        "store without lookups       | USER\t4\tldap-only                | FAIL\t4\treason=User lookups not supported",
        "store failing               | USER\t5\tboom                     | FAIL\t5\treason=Internal error",
        "a TAB in the name: nobody   | USER\t6\tbad\u0001tname           | NOTFOUND\t6",
        "leading zeros echoed        | USER\t007\talice                  | USER\t007\talice",
        "the largest id              | USER\t4294967295\talice           | USER\t4294967295\talice",
        "another command with an id  | PASS\t8\talice\tsecret            | FAIL\t8\treason=Unsupported command",
    })
    void answers(String what, String line, String reply) {
        UserdbConnection c = connect(Runnable::run);
        push(c, "VERSION\t1\t1");
        out.lines.clear();
        assertTrue(push(c, line), what + ": the connection goes on");
        assertEquals(List.of(reply), out.lines, what);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "an id that is not a number  | USER\tx\talice",
        "an id over 32 bits          | USER\t4294967296\talice",
        "a signed id                 | USER\t+1\talice",
        "no name                     | USER\t1",
        "another major version       | VERSION\t2\t0",
        "an auth client              | CPID\t42",
        "unknown, no id              | HELLO\tthere",
    })
    void endsTheConnectionWithoutAReply(String what, String line) {
        UserdbConnection c = connect(Runnable::run);
        out.lines.clear();
        assertFalse(push(c, line), what);
        assertEquals(List.of(), out.lines, what);
        assertFalse(push(c, "USER\t1\talice"), "nothing more is served");
        assertEquals(List.of(), out.lines);
    }

    @Test
    void emptyLinesAreIgnored() {
        UserdbConnection c = connect(Runnable::run);
        assertTrue(push(c, ""));
        assertTrue(push(c, "\t"));
    }

    @Test
    void anOverlongLineEndsTheConnection() {
        UserdbConnection c = connect(Runnable::run);
        assertFalse(c.receive("USER\t1\taaaa".getBytes(StandardCharsets.US_ASCII), true));
    }

    @Test
    void theEndWaitsForTheLookupsInFlight() {
        Queue workers = new Queue();
        UserdbConnection c = connect(workers);
        out.lines.clear();
        push(c, "USER\t1\talice");
        push(c, "USER\t2\tbob");
        List<String> closed = new ArrayList<>();
        c.finishThen(() -> closed.add("closed"));
        assertEquals(List.of(), closed, "two lookups still running");
        workers.runAll();
        assertEquals(List.of("USER\t1\talice", "NOTFOUND\t2"), out.lines);
        assertEquals(List.of("closed"), closed, "closed once, after the last answer");
    }

    @Test
    void theEndWithNothingInFlightClosesAtOnce() {
        UserdbConnection c = connect(Runnable::run);
        List<String> closed = new ArrayList<>();
        c.finishThen(() -> closed.add("closed"));
        assertEquals(List.of("closed"), closed);
    }

    @Test
    void beyondTheLookupsInFlightOfOneConnectionARequestFailsAtOnce() {
        Queue workers = new Queue();
        UserdbConnection c = connect(workers);
        out.lines.clear();
        for (int i = 1; i <= UserdbConnection.MAX_IN_FLIGHT + 1; i++) {
            push(c, "USER\t" + i + "\talice");
        }
        assertEquals(List.of("FAIL\t" + (UserdbConnection.MAX_IN_FLIGHT + 1) + "\treason=Too many requests"), out.lines);
        workers.runAll();
        assertEquals(UserdbConnection.MAX_IN_FLIGHT + 1, out.lines.size());
    }

    @Test
    void aStoppingPoolFailsTheLookupAndStillLetsTheConnectionClose() {
        Queue workers = new Queue();
        workers.rejecting = true;
        UserdbConnection c = connect(workers);
        out.lines.clear();
        push(c, "USER\t1\talice");
        assertEquals(List.of("FAIL\t1\treason=Server stopping"), out.lines);
        List<String> closed = new ArrayList<>();
        c.finishThen(() -> closed.add("closed"));
        assertEquals(List.of("closed"), closed);
    }
}
