package org.saslauth.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Mechanisms;
import org.saslauth.protocol.AuthService;
import org.saslauth.protocol.Scheduler;
import org.saslauth.protocol.Settings;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.UserNameFormat;

/** The auth protocol on a daemon's connection: when the client's handshake counts as done. */
class AuthHandlerTest {

    /** What the connection layer is told. */
    static final class Recorder implements Replies {
        final List<String> sent = new ArrayList<>();
        int handshakes;

        @Override
        public boolean send(byte[] data) {
            sent.add(new String(data, StandardCharsets.UTF_8));
            return true;
        }

        @Override
        public void close() {}

        @Override
        public void handshakeDone() {
            handshakes++;
        }
    }

    /**
     * Regression (issue 19, minor): a {@code CPID} line alone ended the 30 s handshake limit;
     * Dovecot requires {@code VERSION} too.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "VERSION then CPID     | VERSION\t1\t2;CPID\t42            | 1",
        "CPID then VERSION     | CPID\t42;VERSION\t1\t2            | 1",
        "CPID alone            | CPID\t42                          | 0",
        "CPID twice            | CPID\t42;CPID\t43                 | 0",
        "VERSION alone         | VERSION\t1\t2                     | 0",
        "another version       | VERSION\t2\t0;CPID\t42            | 0",
        "junk                  | CPIDX\t42;VERSION\t1\t2;HELLO     | 0",
    })
    void theHandshakeIsVersionAndCpid(String what, String lines, int handshakes) {
        AuthService service = new AuthService(new Settings(Mechanisms.parse("PLAIN"),
                new Credentials(CredentialStore.NONE, UserNameFormat.AS_IS), Duration.ZERO, 8),
                Scheduler.system(), Runnable::run);
        Recorder out = new Recorder();
        Session session = new AuthHandler(service).open(out, new Peer("test", "local", 1));
        for (String line : lines.split(";")) {
            session.line(line.strip().getBytes(StandardCharsets.UTF_8), false);
        }
        assertEquals(handshakes, out.handshakes, what);
        assertTrue(out.sent.get(0).startsWith("VERSION\t1\t2\n"), "greeted at once");
    }
}
