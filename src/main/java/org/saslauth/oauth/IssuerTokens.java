package org.saslauth.oauth;

import java.io.IOException;
import java.net.URI;
import java.util.Optional;
import org.saslauth.Deadline;
import org.saslauth.mech.Tokens;

/**
 * Bearer tokens checked as {@link OAuthSettings} say: a JWT against the issuer's keys
 * ({@link JwtCheck}) when {@code oauth2-issuer} is set, any other token (or every token,
 * without an issuer) by introspection ({@link Introspection}) when
 * {@code oauth2-introspection-url} is set. Nothing is fetched and no class of the JWT library
 * is loaded before the first token.
 */
public final class IssuerTokens implements Tokens {

    private final OAuthSettings settings;
    private volatile Checks checks;
    private volatile String broken;

    /** What is made at the first token. */
    private record Checks(Optional<JwtCheck> jwt, Optional<Introspection> introspection) {}

    public IssuerTokens(OAuthSettings settings) {
        this.settings = settings;
    }

    @Override
    public Optional<String> scope() {
        return settings.requiredScope();
    }

    @Override
    public Optional<String> configuration() {
        return settings.configurationUrl();
    }

    @Override
    public Verdict check(String token, Deadline deadline) {
        Checks c = checks();
        if (c == null) {
            return new Verdict.Unavailable(broken);
        }
        long now = System.currentTimeMillis() / 1000;
        if (c.jwt().isPresent() && JwtCheck.looksLikeJwt(token)) {
            return c.jwt().get().check(token, deadline, now);
        }
        if (c.introspection().isPresent()) {
            return c.introspection().get().check(token, deadline, now);
        }
        return new Verdict.Invalid("not a JWT, and no oauth2-introspection-url to ask about other tokens");
    }

    /**
     * For {@code saslauth check}: asks the issuer once, as the first token would (its discovery
     * document and keys, and the introspection endpoint with a token that is no one's), and says
     * what went wrong, if anything.
     */
    public java.util.List<String> problems(Deadline deadline) {
        java.util.List<String> out = new java.util.ArrayList<>();
        Checks c = checks();
        if (c == null) {
            out.add(broken);
            return out;
        }
        c.jwt().ifPresent(j -> {
            String p = j.reachable(deadline);
            if (p != null) {
                out.add("oauth2-issuer: " + p);
            }
        });
        c.introspection().ifPresent(i -> {
            Verdict v = i.check("saslauth-check-" + System.nanoTime(), deadline, System.currentTimeMillis() / 1000);
            if (v instanceof Verdict.Unavailable u) {
                out.add("oauth2-introspection-url: " + u.why());
            }
        });
        return out;
    }

    private Checks checks() {
        Checks c = checks;
        if (c == null && broken == null) {
            synchronized (this) {
                if (checks == null && broken == null) {
                    try {
                        Http http = new Http(settings.caFile());
                        Claims claims = new Claims(settings);
                        java.util.function.LongSupplier clock = System::nanoTime;
                        Optional<JwtCheck> jwt = settings.issuer().map(i -> new JwtCheck(new IssuerKeys(http, i.toString(),
                                URI.create(settings.configurationUrl().orElseThrow()), clock), i.toString(), claims,
                                settings.clockSkew().toSeconds()));
                        Optional<Introspection> in = settings.introspection().map(u -> new Introspection(http, settings,
                                claims, clock));
                        checks = new Checks(jwt, in);
                    } catch (IOException e) {
                        broken = "oauth2-ca-file: " + e.getMessage();
                        org.saslauth.Log.LOG.error("oauth2: {}; every token login gets a temporary failure", broken);
                    }
                }
                c = checks;
            }
        }
        return c;
    }
}
