package org.saslauth.cli;

import static org.saslauth.cli.ServingOption.*;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.saslauth.mech.Mechanisms;
import org.saslauth.mech.Tokens;
import org.saslauth.oauth.IssuerTokens;
import org.saslauth.oauth.OAuthSettings;
import org.saslauth.store.InvalidStoreConfig;

/**
 * The {@code oauth2-*} keys read into {@link OAuthSettings}: a class of its own so that a helper
 * that offers no token mechanism never loads it, nor {@code org.saslauth.oauth}.
 */
final class OAuthKeys {

    private OAuthKeys() {}

    static Tokens tokens(Options o, Mechanisms mechs) throws StartupError {
        return new IssuerTokens(settings(o, mechs));
    }

    static OAuthSettings settings(Options o, Mechanisms mechs) throws StartupError {
        Optional<URI> issuer = url(o, OAUTH2_ISSUER);
        Optional<URI> introspection = url(o, OAUTH2_INTROSPECTION_URL);
        if (issuer.isEmpty() && introspection.isEmpty()) {
            throw new StartupError(mechs.needing(org.saslauth.mech.Mechanism.Need.TOKEN).stream()
                    .map(m -> m.name()).reduce((a, b) -> a + "," + b).orElse("") + " need "
                    + o.name(OAUTH2_ISSUER) + " (JWT access tokens) or " + o.name(OAUTH2_INTROSPECTION_URL)
                    + " (opaque tokens) to check tokens with");
        }
        Optional<String> clientId = Optional.ofNullable(o.string(OAUTH2_CLIENT_ID));
        Path secretFile = o.path(OAUTH2_CLIENT_SECRET_FILE);
        Optional<String> secret = Optional.empty();
        if (secretFile != null) {
            if (clientId.isEmpty()) {
                throw new StartupError(o.name(OAUTH2_CLIENT_SECRET_FILE) + " is given without " + o.name(OAUTH2_CLIENT_ID));
            }
            try {
                secret = Optional.of(Passdbs.secret(secretFile, o.name(OAUTH2_CLIENT_SECRET_FILE)));
            } catch (InvalidStoreConfig e) {
                throw new StartupError(e.getMessage());
            }
        }
        if (clientId.isPresent() && introspection.isEmpty()) {
            throw new StartupError(o.name(OAUTH2_CLIENT_ID) + " is given without " + o.name(OAUTH2_INTROSPECTION_URL));
        }
        Path ca = o.path(OAUTH2_CA_FILE);
        if (ca != null && !Files.isReadable(ca)) {
            throw new StartupError(o.name(OAUTH2_CA_FILE) + ": cannot read " + ca);
        }
        String claim = o.string(OAUTH2_USERNAME_CLAIM);
        if (claim == null || claim.isBlank()) {
            throw new StartupError(o.name(OAUTH2_USERNAME_CLAIM) + " must name a claim");
        }
        if (o.duration(OAUTH2_CLOCK_SKEW).toSeconds() > 600) {
            throw new StartupError(o.name(OAUTH2_CLOCK_SKEW) + " must be at most 600s: an expired token would live on");
        }
        return new OAuthSettings(issuer, Optional.ofNullable(o.string(OAUTH2_AUDIENCE)), claim.strip(),
                Optional.ofNullable(o.string(OAUTH2_REQUIRED_SCOPE)), introspection, clientId, secret,
                Optional.ofNullable(ca), o.duration(OAUTH2_CLOCK_SKEW), o.duration(OAUTH2_INTROSPECTION_CACHE));
    }

    private static Optional<URI> url(Options o, ServingOption key) throws StartupError {
        String value = o.string(key);
        if (value == null || value.isBlank()) {
            return Optional.empty();
        }
        try {
            return Optional.of(OAuthSettings.url(value.strip()));
        } catch (IllegalArgumentException e) {
            throw new StartupError(o.name(key) + ": " + e.getMessage());
        }
    }
}
