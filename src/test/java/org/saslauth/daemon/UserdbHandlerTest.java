package org.saslauth.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.saslauth.Deadline;
import org.saslauth.mech.Credentials;
import org.saslauth.password.CostlyChecks;
import org.saslauth.password.PasswordSchemes;
import org.saslauth.protocol.Limits;
import org.saslauth.protocol.Scheduler;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.UserNameFormat;

/** The auth-master userdb lookups against a store that gives every answer a store can give. */
@ExtendWith(LogToFile.class)
@Timeout(30)
class UserdbHandlerTest {

    @TempDir
    Path dir;

    private ConnectionServer server;
    private ExecutorService workers;
    private Path socket;

    /** Knows "alice"; "db-down" is a store that cannot answer; "ldap-only" one that cannot look up. */
    private static final CredentialStore STORE = new CredentialStore() {
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
                default -> new Lookup.UnknownUser();
            };
        }
    };

    @BeforeEach
    void start() throws IOException {
        socket = dir.resolve("userdb");
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        ch.bind(UnixDomainSocketAddress.of(socket));
        workers = Executors.newFixedThreadPool(2);
        Credentials credentials = new Credentials(STORE, new UserNameFormat(true, Optional.empty()));
        server = new ConnectionServer(10, Limits.DEFAULT, Scheduler.system());
        server.listen("userdb", ch, new UserdbHandler(credentials, workers), a -> true, () -> { });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(Duration.ofSeconds(1));
        workers.shutdownNow();
    }

    @Test
    void everyAnswerOfTheStore() throws Exception {
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
            OutputStream out = Channels.newOutputStream(c);
            assertEquals("VERSION\t1\t0", in.readLine());
            assertEquals("SPID\t" + ProcessHandle.current().pid(), in.readLine());
            send(out, "VERSION\t1\t1");
            send(out, "USER\t1\tAlice\tservice=smtp");
            assertEquals("USER\t1\talice", in.readLine(), "the canonical name (lowercase here)");
            send(out, "USER\t2\tmallory\tservice=smtp");
            assertEquals("NOTFOUND\t2", in.readLine());
            send(out, "USER\t3\tdb-down\tservice=smtp");
            assertEquals("FAIL\t3\treason=User store unavailable", in.readLine());
            send(out, "USER\t4\tldap-only\tservice=smtp");
            assertEquals("FAIL\t4\treason=User lookups not supported", in.readLine());
            send(out, "USER\t5\tbad\u0001tname\tservice=smtp");
            assertEquals("NOTFOUND\t5", in.readLine(), "a name with a TAB is nobody");
            send(out, "USER\tx\talice");
            assertNull(in.readLine(), "a malformed request closes the connection");
        }
    }

    @Test
    void aClientOfAnotherMajorVersionIsClosed() throws Exception {
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
            in.readLine();
            in.readLine();
            send(Channels.newOutputStream(c), "VERSION\t2\t0\nUSER\t1\talice\tservice=smtp");
            assertNull(in.readLine());
        }
        assertTrue(server.connectionCount() <= 1);
    }

    private static void send(OutputStream out, String line) throws IOException {
        out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
