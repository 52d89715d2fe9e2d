package org.saslauth.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.saslauth.Meter;
import org.saslauth.mech.Credentials;
import org.saslauth.mech.Mechanisms;
import org.saslauth.penalty.PenaltyStore;
import org.saslauth.protocol.AuthService;
import org.saslauth.protocol.CapturedLog;
import org.saslauth.protocol.Limits;
import org.saslauth.protocol.ManualScheduler;
import org.saslauth.protocol.Settings;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.UserNameFormat;
import org.slf4j.event.Level;

/**
 * The daemon rehearses its handshake before it binds (issue 25: the first sessions on a fresh
 * daemon greeted as fast as later ones), and the rehearsal leaves no trace: no log line, no
 * metric, nothing asked of the penalty store or the passdb.
 */
@ExtendWith(LogToFile.class)
class HandshakeRehearsalTest {

    /** Every call to the penalty store, the passdb and the meter, by method name. */
    private final List<String> calls = new CopyOnWriteArrayList<>();

    @AfterEach
    void noMeter() {
        Meter.install(Meter.NONE);
    }

    @SuppressWarnings("unchecked")
    private <T> T recording(Class<T> type, String who) {
        return (T) Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (proxy, method, args) -> {
            if (method.getDeclaringClass() == Object.class) {
                return method.getName().equals("equals") ? proxy == args[0]
                        : method.getName().equals("hashCode") ? System.identityHashCode(proxy) : who;
            }
            calls.add(who + "." + method.getName());
            throw new AssertionError(who + "." + method.getName() + " called by a rehearsal");
        });
    }

    private AuthHandler handler(ManualScheduler clock) {
        PenaltyStore penalty = recording(PenaltyStore.class, "penalty");
        Settings settings = new Settings(Mechanisms.parse("PLAIN,LOGIN"),
                new Credentials(recording(CredentialStore.class, "passdb"), UserNameFormat.AS_IS), Duration.ZERO, 8,
                true, 0, Settings.IPV6_PREFIX, c -> penalty);
        Meter.install(recording(Meter.class, "meter"));
        return new AuthHandler(new AuthService(settings, clock, Runnable::run));
    }

    @Test
    void rehearsesTheHandshakeWithoutATrace() throws Exception {
        ManualScheduler clock = new ManualScheduler();
        AuthHandler handler = handler(clock);
        var run = CapturedLog.capture(Level.INFO, () -> HandshakeRehearsal.run(handler, Limits.DEFAULT, clock));
        assertTrue(run.result(), "rehearsed at info");
        assertEquals(List.of(), run.log().events(), "nothing logged");
        assertEquals("", run.log().raw());
        assertEquals(List.of(), calls, "no penalty store, passdb or meter asked");
        clock.advanceMillis(600_000); // nothing left on the timer to run either
        assertEquals(List.of(), calls);
    }

    @Test
    void eachRehearsalIsTheWholeHandshake() {
        ManualScheduler clock = new ManualScheduler();
        String greeting = new String(HandshakeRehearsal.once(handler(clock), Limits.DEFAULT), StandardCharsets.UTF_8);
        assertTrue(greeting.startsWith("VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nSPID\t"), greeting);
        assertTrue(greeting.endsWith("\nDONE\n"), greeting);
    }

    /** At debug the engine logs every connection's pid and end: a rehearsal would show. */
    @Test
    void noRehearsalWhenTheLogIsAtDebug() throws Exception {
        ManualScheduler clock = new ManualScheduler();
        AuthHandler handler = handler(clock);
        var run = CapturedLog.capture(Level.DEBUG, () -> HandshakeRehearsal.run(handler, Limits.DEFAULT, clock));
        assertFalse(run.result());
        assertEquals(List.of(), run.log().events(), "nothing logged");
        assertEquals(List.of(), calls);
    }
}
