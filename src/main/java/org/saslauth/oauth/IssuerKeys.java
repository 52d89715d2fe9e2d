package org.saslauth.oauth;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.util.JSONObjectUtils;
import java.io.IOException;
import java.net.URI;
import java.text.ParseException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.saslauth.Deadline;
import org.saslauth.Log;

/**
 * The issuer's signing keys, from its discovery document's {@code jwks_uri}, kept in memory:
 * fetched at the first token, again when a token names a key not among them (a rotation) but at
 * most once every {@link #REFETCH_NANOS}, and again once they are {@link #REFRESH_NANOS} old,
 * the keys in hand kept when the issuer cannot be reached. So a rotation needs no restart, an
 * issuer that is down does not stop the tokens whose keys are known, and a client sending tokens
 * with made-up key ids cannot make this host hammer the issuer.
 */
final class IssuerKeys {

    /** At most one fetch this often for an unknown key id. */
    static final long REFETCH_NANOS = 10_000_000_000L;

    /** After a fetch that failed, the next one this much later at the soonest. */
    static final long RETRY_NANOS = 5_000_000_000L;

    /** Keys this old are fetched again at the next token, so that a key the issuer withdrew goes. */
    static final long REFRESH_NANOS = 3_600_000_000_000L;

    private final Http http;
    private final String issuer;
    private final URI configuration;
    private final LongSupplier nanoTime;

    private volatile JWKSet keys;
    private volatile long fetchedAt;
    private volatile long triedAt;
    private volatile boolean tried;
    private volatile String lastFailure = "";
    private URI jwksUri;

    IssuerKeys(Http http, String issuer, URI configuration, LongSupplier nanoTime) {
        this.http = http;
        this.issuer = issuer;
        this.configuration = configuration;
        this.nanoTime = nanoTime;
    }

    /** What the keys are for a token naming {@code kid} (empty without one). */
    sealed interface Found {
        record Keys(List<JWK> keys) implements Found {}

        /** The issuer could not be asked and no key is known: a temporary failure. */
        record Unreachable(String why) implements Found {}
    }

    Found forKid(Optional<String> kid, Deadline deadline) {
        JWKSet k = keys;
        if (k == null || matching(k, kid).isEmpty() || nanoTime.getAsLong() - fetchedAt >= REFRESH_NANOS) {
            synchronized (this) { // one fetch at a time; who waited for it sees its keys
                JWKSet now = keys;
                long t = nanoTime.getAsLong();
                boolean wanted = now == null || matching(now, kid).isEmpty() || t - fetchedAt >= REFRESH_NANOS;
                boolean allowed = !tried || t - triedAt >= (lastFailure.isEmpty() ? REFETCH_NANOS : RETRY_NANOS);
                if (wanted && allowed) {
                    fetch(deadline);
                }
            }
            k = keys;
        }
        List<JWK> found = k == null ? List.of() : matching(k, kid);
        if (found.isEmpty() && !lastFailure.isEmpty()) { // a key not known yet, and the issuer away
            return new Found.Unreachable(lastFailure);
        }
        if (k == null) {
            return new Found.Unreachable("the issuer's keys are not fetched yet");
        }
        return new Found.Keys(found);
    }

    private static List<JWK> matching(JWKSet set, Optional<String> kid) {
        return kid.isPresent() ? set.getKeys().stream().filter(j -> kid.get().equals(j.getKeyID())).toList() : set.getKeys();
    }

    /** Fetches the discovery document (once) and the key set; on failure keeps what is known. */
    private void fetch(Deadline deadline) {
        tried = true;
        triedAt = nanoTime.getAsLong();
        try {
            if (jwksUri == null) {
                Map<String, Object> doc = JSONObjectUtils.parse(http.get(configuration, deadline));
                Object iss = doc.get("issuer");
                if (!(iss instanceof String s) || !OAuthSettings.stripSlash(s).equals(OAuthSettings.stripSlash(issuer))) {
                    throw new IOException(configuration + " names the issuer " + Claims.printable(iss) + ", not " + issuer);
                }
                Object uri = doc.get("jwks_uri");
                if (!(uri instanceof String u)) {
                    throw new IOException(configuration + " has no jwks_uri");
                }
                try {
                    jwksUri = OAuthSettings.url(u);
                } catch (IllegalArgumentException e) {
                    throw new IOException(configuration + ": jwks_uri " + e.getMessage());
                }
            }
            JWKSet set = JWKSet.parse(http.get(jwksUri, deadline));
            JWKSet before = keys;
            keys = set;
            fetchedAt = nanoTime.getAsLong();
            if (before == null || !before.getKeys().equals(set.getKeys())) {
                Log.LOG.info("oauth2: {} key(s) of {} from {}: {}", set.getKeys().size(), issuer, jwksUri,
                        String.join(",", set.getKeys().stream().map(j -> String.valueOf(j.getKeyID())).toList()));
            }
            if (!lastFailure.isEmpty()) {
                Log.LOG.info("oauth2: {} answers again", issuer);
                lastFailure = "";
            }
        } catch (IOException | ParseException | RuntimeException e) {
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            if (lastFailure.isEmpty()) { // one line per outage
                Log.LOG.error("oauth2: cannot fetch the keys of {}: {}{}", issuer, why,
                        keys == null ? "" : "; the keys fetched before serve meanwhile");
            }
            lastFailure = why;
        }
    }
}
