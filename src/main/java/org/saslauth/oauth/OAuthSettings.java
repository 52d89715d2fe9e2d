package org.saslauth.oauth;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The {@code oauth2-*} keys, checked: where tokens are checked (an OpenID issuer's keys, an
 * introspection endpoint, or both) and what a token must say to log in.
 *
 * @param issuer the issuer's URL: its discovery document is {@code ISSUER/.well-known/openid-configuration}
 * @param audience what the token's {@code aud} must hold, when set
 * @param usernameClaim the claim naming the user ({@code email}, {@code preferred_username}, {@code sub}...)
 * @param requiredScope a scope the token must have, when set
 * @param introspection RFC 7662's endpoint, for tokens that are not JWTs (or every token, without an issuer)
 * @param clientId the client that asks the introspection endpoint
 * @param clientSecret its secret
 * @param caFile the CAs trusted for the issuer's TLS instead of the system's
 * @param clockSkew how far the issuer's clock and this host's may differ ({@code exp}, {@code nbf})
 * @param introspectionCache at most how long an introspection's answer is kept (never past the token's {@code exp})
 */
public record OAuthSettings(Optional<URI> issuer, Optional<String> audience, String usernameClaim,
        Optional<String> requiredScope, Optional<URI> introspection, Optional<String> clientId,
        Optional<String> clientSecret, Optional<Path> caFile, Duration clockSkew, Duration introspectionCache) {

    /**
     * An {@code http(s)} URL without user info or fragment, {@code https} unless its host is a
     * loopback address (an issuer on the same host, a test).
     *
     * @throws IllegalArgumentException saying what is wrong
     */
    public static URI url(String value) {
        URI uri;
        try {
            uri = new URI(value);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("'" + value + "' is not a URL: " + e.getReason());
        }
        if (uri.getScheme() == null || uri.getHost() == null || uri.getRawUserInfo() != null
                || uri.getRawFragment() != null) {
            throw new IllegalArgumentException("'" + value + "' is not an http(s) URL with a host");
        }
        String scheme = uri.getScheme().toLowerCase(java.util.Locale.ROOT);
        if (scheme.equals("http")) {
            if (!loopback(uri.getHost())) {
                throw new IllegalArgumentException("'" + value + "' must be https: tokens and keys travel in it"
                        + " (http only for a loopback address)");
            }
        } else if (!scheme.equals("https")) {
            throw new IllegalArgumentException("'" + value + "' must be an https URL");
        }
        return uri;
    }

    /** 127.0.0.0/8, ::1 and localhost, without asking a resolver. */
    static boolean loopback(String host) {
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        if (h.equalsIgnoreCase("localhost")) {
            return true;
        }
        if (!h.matches("[0-9.]+") && !h.contains(":")) {
            return false; // a name: never resolved here
        }
        try {
            return InetAddress.getByName(h).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    /** The discovery document's URL (OpenID Connect Discovery 1.0, section 4). */
    public Optional<String> configurationUrl() {
        return issuer.map(i -> stripSlash(i.toString()) + "/.well-known/openid-configuration");
    }

    static String stripSlash(String s) {
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }
}
