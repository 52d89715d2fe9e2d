package org.saslauth.protocol;

/**
 * At most N requests a second, as a token bucket holding one second's worth. Postfix sends one
 * AUTH per SMTP round trip, so a legitimate smtpd stays far below any sensible limit; a client
 * that exceeds it is flooding. Not thread-safe: its owner locks.
 */
final class RateLimit {

    private static final long SECOND = 1_000_000_000L;

    private final int perSecond;
    private double tokens;
    private long last;
    private long lastLog;
    private boolean logged;

    /** @param perSecond requests allowed a second; 0 for no limit */
    RateLimit(int perSecond, long now) {
        this.perSecond = perSecond;
        this.tokens = perSecond;
        this.last = now;
    }

    boolean tryAcquire(long now) {
        if (perSecond == 0) {
            return true;
        }
        tokens = Math.min(perSecond, tokens + (now - last) * (double) perSecond / SECOND);
        last = now;
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }

    /** Whether to log a refusal now: at most once a second. */
    boolean shouldLog(long now) {
        if (!logged || now - lastLog >= SECOND) {
            logged = true;
            lastLog = now;
            return true;
        }
        return false;
    }
}
