package org.saslauth.oauth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The JWTs already checked, by the SHA-256 of the whole token (never the token, never a part of
 * it: a cached signature must not vouch for another payload), with the user they name and until
 * when they may be taken on trust: their {@code exp} plus the clock skew, and at most
 * {@link #KEEP_SECONDS} from the check, so that a key the issuer withdrew stops serving soon. A
 * phone that logs in every few minutes with one token pays for one signature check.
 */
final class VerifiedTokens {

    /** Entries kept at most; past it the map is emptied, which only costs checks again. */
    static final int MAX = 10_000;

    /** The longest an entry is trusted without a signature check. */
    static final long KEEP_SECONDS = 600;

    private record Kept(String user, long untilSeconds) {}

    private final ConcurrentHashMap<String, Kept> kept = new ConcurrentHashMap<>();

    /** The user of a token checked before and still good at {@code now}, or null. */
    String user(String digest, long nowSeconds) {
        Kept k = kept.get(digest);
        if (k == null) {
            return null;
        }
        if (nowSeconds > k.untilSeconds()) {
            kept.remove(digest, k);
            return null;
        }
        return k.user();
    }

    void put(String digest, String user, long untilSeconds) {
        if (kept.size() >= MAX) {
            kept.clear();
        }
        kept.put(digest, new Kept(user, untilSeconds));
    }

    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    });

    /** The token's SHA-256, its 32 bytes as the chars of a short string (a map key, never shown). */
    static String digest(String token) {
        return new String(SHA256.get().digest(token.getBytes(StandardCharsets.US_ASCII)), StandardCharsets.ISO_8859_1);
    }
}
