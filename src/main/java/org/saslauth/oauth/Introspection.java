package org.saslauth.oauth;

import com.nimbusds.jose.util.JSONObjectUtils;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.ParseException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.saslauth.Deadline;
import org.saslauth.mech.Tokens.Verdict;

/**
 * RFC 7662 token introspection, for opaque tokens: the issuer is asked whether the token is
 * {@code active}, authenticated as {@code oauth2-client-id}, and its answer's claims are checked
 * as a JWT's are. A good answer is kept until the token's {@code exp}, at most
 * {@code oauth2-introspection-cache}, under the token's SHA-256 (never the token itself); a
 * refusal is not kept, so a revoked token is refused at its next login once its answer expires.
 */
final class Introspection {

    /** Tokens whose answers are kept at most; the oldest goes first. */
    static final int MAX_CACHED = 10_000;

    private final Http http;
    private final URI endpoint;
    private final Optional<String> authorization;
    private final Optional<String> issuer;
    private final Claims claims;
    private final long cacheNanos;
    private final LongSupplier nanoTime;
    private final Map<String, Kept> cache = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Kept> eldest) {
            return size() > MAX_CACHED;
        }
    };

    private record Kept(String user, long untilNanos) {}

    Introspection(Http http, OAuthSettings s, Claims claims, LongSupplier nanoTime) {
        this.http = http;
        this.endpoint = s.introspection().orElseThrow();
        // RFC 6749 section 2.3.1: each part form-encoded before the Basic encoding
        this.authorization = s.clientId().map(id -> "Basic " + Base64.getEncoder().encodeToString(
                (form(id) + ":" + form(s.clientSecret().orElse(""))).getBytes(StandardCharsets.UTF_8)));
        this.issuer = s.issuer().map(URI::toString);
        this.claims = claims;
        this.cacheNanos = s.introspectionCache().toNanos();
        this.nanoTime = nanoTime;
    }

    Verdict check(String token, Deadline deadline, long nowSeconds) {
        String key = sha256(token);
        long now = nanoTime.getAsLong();
        synchronized (cache) {
            Kept k = cache.get(key);
            if (k != null && now < k.untilNanos()) {
                return new Verdict.Valid(k.user());
            }
            if (k != null) {
                cache.remove(key);
            }
        }
        Map<String, Object> answer;
        try {
            answer = JSONObjectUtils.parse(http.post(endpoint, "token=" + form(token) + "&token_type_hint=access_token",
                    authorization, deadline));
        } catch (IOException | ParseException e) {
            return new Verdict.Unavailable("introspection failed: " + e.getMessage());
        }
        if (!Boolean.TRUE.equals(answer.get("active"))) {
            return new Verdict.Invalid("the issuer says the token is not active (expired, revoked or unknown)");
        }
        Verdict v = claims.check(answer, issuer.filter(i -> answer.containsKey("iss")), false, nowSeconds);
        if (v instanceof Verdict.Valid valid && cacheNanos > 0) {
            long until = now + cacheNanos;
            if (answer.get("exp") instanceof Number exp) {
                until = Math.min(until, now + Math.max(0, exp.longValue() - nowSeconds) * 1_000_000_000L);
            }
            synchronized (cache) {
                cache.put(key, new Kept(valid.user(), until));
            }
        }
        return v;
    }

    private static String form(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static String sha256(String token) {
        try {
            return Base64.getEncoder().encodeToString(
                    MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
