package org.saslauth.protocol;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A growing delay for repeated failures from one client (a {@link ClientAddress} key: an IPv4
 * address, an IPv6 prefix, or the clients that sent no address), like Dovecot's auth penalty:
 * the first two failures cost nothing extra, the third one second, then each doubles, and the
 * whole reply delay is capped at {@link #CAP} because Postfix gives up after ten seconds.
 * Repeating the same wrong password (a client retrying saved credentials) does not count again.
 * A success from the address forgives it; so do {@link #FORGET} without failures.
 *
 * <p>The state lives in one helper process, that is one smtpd process: it follows an attacker
 * across the SMTP sessions that smtpd serves, not across smtpd processes.
 */
final class Penalty {

    /** No reply waits longer than this, failure delay included. */
    static final Duration CAP = Duration.ofSeconds(5);

    static final Duration FORGET = Duration.ofMinutes(15);

    private static final int MAX_ADDRESSES = 4096;
    private static final int GUESSES_KEPT = 8;

    private static final class Entry {
        int failures;
        long last;
        final int[] guesses = new int[GUESSES_KEPT];
        int guessCount;

        boolean seen(int guess) {
            for (int i = 0; i < Math.min(guessCount, GUESSES_KEPT); i++) {
                if (guesses[i] == guess) {
                    return true;
                }
            }
            return false;
        }

        void remember(int guess) {
            guesses[guessCount++ % GUESSES_KEPT] = guess;
        }
    }

    private final Map<String, Entry> byAddress = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
            return size() > MAX_ADDRESSES;
        }
    };

    /**
     * Records a failure and returns the whole delay its reply should wait.
     *
     * @param base the configured failure delay
     * @param guess the keyed digest of the password tried, when there was one
     */
    synchronized Duration failed(String client, OptionalInt guess, Duration base, long nowNanos) {
        Entry e = byAddress.get(client);
        if (e == null || nowNanos - e.last > FORGET.toNanos()) {
            e = new Entry();
            byAddress.put(client, e);
        }
        e.last = nowNanos;
        if (guess.isEmpty() || !e.seen(guess.getAsInt())) {
            e.failures++;
            guess.ifPresent(e::remember);
        }
        return min(base.plus(extra(e.failures)), CAP);
    }

    synchronized void succeeded(String client) {
        byAddress.remove(client);
    }

    synchronized int failures(String client) {
        Entry e = byAddress.get(client);
        return e == null ? 0 : e.failures;
    }

    static Duration extra(int failures) {
        if (failures <= 2) {
            return Duration.ZERO;
        }
        return Duration.ofSeconds(1L << Math.min(failures - 3, 3));
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
