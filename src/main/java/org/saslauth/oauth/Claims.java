package org.saslauth.oauth;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.saslauth.mech.Tokens.Verdict;

/**
 * What a token's claims must say, whether they come from a JWT's payload or an introspection
 * answer (RFC 7662 names the same members): the issuer, the audience, the times, the scope and
 * the user.
 */
final class Claims {

    private final OAuthSettings settings;

    Claims(OAuthSettings settings) {
        this.settings = settings;
    }

    /**
     * The verdict on {@code claims} at {@code nowSeconds}.
     *
     * @param issuer the issuer the claims must name, when known ({@code iss} is required then)
     * @param expRequired whether {@code exp} must be there: a JWT that never expires is refused
     */
    Verdict check(Map<String, Object> claims, Optional<String> issuer, boolean expRequired, long nowSeconds) {
        if (issuer.isPresent()) {
            Object iss = claims.get("iss");
            if (!(iss instanceof String s) || !OAuthSettings.stripSlash(s).equals(OAuthSettings.stripSlash(issuer.get()))) {
                return new Verdict.Invalid("issued by " + printable(iss) + ", not " + issuer.get());
            }
        }
        long skew = settings.clockSkew().toSeconds();
        Object exp = claims.get("exp");
        if (exp instanceof Number n) {
            if (nowSeconds > n.longValue() + skew) {
                return new Verdict.Invalid("expired " + (nowSeconds - n.longValue()) + " s ago");
            }
        } else if (exp != null || expRequired) {
            return new Verdict.Invalid("no expiry (exp)");
        }
        Object nbf = claims.get("nbf");
        if (nbf instanceof Number n && nowSeconds + skew < n.longValue()) {
            return new Verdict.Invalid("not valid before " + (n.longValue() - nowSeconds) + " s from now (nbf)");
        }
        if (settings.audience().isPresent() && !holds(claims.get("aud"), settings.audience().get())) {
            return new Verdict.Invalid("for audience " + printable(claims.get("aud")) + ", not " + settings.audience().get());
        }
        if (settings.requiredScope().isPresent()) {
            String want = settings.requiredScope().get();
            // "scope" as RFC 9068 and 7662 have it; "scp", as Microsoft Entra writes it
            if (!words(claims.get("scope")).contains(want) && !words(claims.get("scp")).contains(want)) {
                return new Verdict.Invalid("scope " + want + " not granted", true);
            }
        }
        Object user = claims.get(settings.usernameClaim());
        if (!(user instanceof String u) || u.isEmpty()) {
            return new Verdict.Invalid("no " + settings.usernameClaim() + " claim naming the user");
        }
        return new Verdict.Valid(u, exp instanceof Number n ? n.longValue() : 0);
    }

    private static boolean holds(Object aud, String want) {
        if (aud instanceof String s) {
            return s.equals(want);
        }
        return aud instanceof Collection<?> c && c.contains(want);
    }

    private static List<String> words(Object scope) {
        if (scope instanceof String s) {
            return List.of(s.trim().split("\\s+"));
        }
        if (scope instanceof Collection<?> c) {
            return c.stream().map(String::valueOf).toList();
        }
        return List.of();
    }

    /** A claim's value for the log: quoted, cut at 80 characters, control characters shown as '?'. */
    static String printable(Object value) {
        if (value == null) {
            return "nobody";
        }
        String s = String.valueOf(value);
        StringBuilder out = new StringBuilder("'");
        for (int i = 0; i < s.length() && i < 80; i++) {
            char c = s.charAt(i);
            out.append(c < 0x20 || c == 0x7f || Character.getType(c) == Character.FORMAT ? '?' : c);
        }
        return out.append(s.length() > 80 ? "...'" : "'").toString();
    }
}
