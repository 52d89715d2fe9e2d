package org.saslauth.oauth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.SignedJWT;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.text.ParseException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.saslauth.Deadline;
import org.saslauth.mech.Tokens.Verdict;

/**
 * A JWT access token (RFC 9068) checked against its issuer's keys: signed with an asymmetric
 * algorithm by a key of the issuer's key set, then its claims ({@link Claims}). {@code none}
 * and the HMAC algorithms are refused before any key is looked at: a JWT "signed" with HS256
 * and the issuer's public key as the secret is the classic forgery. The issuer is compared
 * before the keys are fetched, so a token of another issuer never makes this host ask for keys.
 */
final class JwtCheck {

    /** What an issuer may sign with: RSA, RSA-PSS, ECDSA and Ed25519. */
    static final Set<JWSAlgorithm> ALLOWED = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512,
            JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512, JWSAlgorithm.ES256, JWSAlgorithm.ES384,
            JWSAlgorithm.ES512, JWSAlgorithm.EdDSA, JWSAlgorithm.Ed25519);

    /** The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the key's 32 bytes. */
    private static final byte[] ED25519_SPKI = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

    private final IssuerKeys keys;
    private final String issuer;
    private final Claims claims;
    private final long skewSeconds;
    private final VerifiedTokens verified = new VerifiedTokens();

    JwtCheck(IssuerKeys keys, String issuer, Claims claims, long skewSeconds) {
        this.keys = keys;
        this.issuer = issuer;
        this.claims = claims;
        this.skewSeconds = skewSeconds;
    }

    /** Null when the issuer's keys can be fetched, else why not. */
    String reachable(Deadline deadline) {
        IssuerKeys.Found found = keys.forKid(Optional.empty(), deadline);
        if (found instanceof IssuerKeys.Found.Unreachable u) {
            return "cannot fetch the keys of " + issuer + ": " + u.why();
        }
        return ((IssuerKeys.Found.Keys) found).keys().isEmpty() ? issuer + " publishes no key" : null;
    }

    /** Whether {@code token} reads as a JWS: three base64url parts whose first is a JSON header. */
    static boolean looksLikeJwt(String token) {
        int a = token.indexOf('.');
        int b = a < 0 ? -1 : token.indexOf('.', a + 1);
        return a > 0 && b > a && token.indexOf('.', b + 1) < 0 && token.startsWith("eyJ");
    }

    Verdict check(String token, Deadline deadline, long nowSeconds) {
        String digest = VerifiedTokens.digest(token);
        String known = verified.user(digest, nowSeconds);
        if (known != null) {
            return new Verdict.Valid(known);
        }
        Verdict v = verify(token, deadline, nowSeconds);
        if (v instanceof Verdict.Valid valid && valid.expires() > 0) {
            verified.put(digest, valid.user(), Math.min(valid.expires() + skewSeconds, nowSeconds + VerifiedTokens.KEEP_SECONDS));
        }
        return v;
    }

    private Verdict verify(String token, Deadline deadline, long nowSeconds) {
        SignedJWT jwt;
        Map<String, Object> payload;
        try {
            jwt = SignedJWT.parse(token);
            payload = jwt.getJWTClaimsSet().toJSONObject();
        } catch (ParseException e) {
            return new Verdict.Invalid("not a signed JWT: " + (e.getMessage() == null ? "unreadable" : e.getMessage()));
        }
        JWSHeader header = jwt.getHeader();
        if (!ALLOWED.contains(header.getAlgorithm())) {
            return new Verdict.Invalid("signed with " + header.getAlgorithm() + ", which is refused");
        }
        if (header.getCriticalParams() != null && !header.getCriticalParams().isEmpty()) {
            return new Verdict.Invalid("critical header parameters " + header.getCriticalParams() + " not understood");
        }
        Object iss = payload.get("iss");
        if (!(iss instanceof String s) || !OAuthSettings.stripSlash(s).equals(OAuthSettings.stripSlash(issuer))) {
            return new Verdict.Invalid("issued by " + Claims.printable(iss) + ", not " + issuer);
        }
        IssuerKeys.Found found = keys.forKid(Optional.ofNullable(header.getKeyID()), deadline);
        if (found instanceof IssuerKeys.Found.Unreachable u) {
            return new Verdict.Unavailable("cannot fetch the issuer's keys: " + u.why());
        }
        List<JWK> candidates = ((IssuerKeys.Found.Keys) found).keys();
        boolean any = false;
        for (JWK key : candidates) {
            if (!fits(key, header.getAlgorithm())) {
                continue;
            }
            any = true;
            if (verified(jwt, key)) {
                return claims.check(payload, Optional.of(issuer), true, nowSeconds);
            }
        }
        if (!any) {
            return new Verdict.Invalid(header.getKeyID() == null ? "no key of the issuer fits " + header.getAlgorithm()
                    : "signed by key " + Claims.printable(header.getKeyID()) + ", which the issuer does not have");
        }
        return new Verdict.Invalid("bad signature");
    }

    /** Whether {@code key} may check a signature by {@code alg}: its type, curve, use and own alg. */
    private static boolean fits(JWK key, JWSAlgorithm alg) {
        if (key.getKeyUse() != null && !KeyUse.SIGNATURE.equals(key.getKeyUse())) {
            return false;
        }
        if (key.getAlgorithm() != null && !key.getAlgorithm().getName().equals(alg.getName())
                && !(isEdDsa(alg) && isEdDsa(new JWSAlgorithm(key.getAlgorithm().getName())))) {
            return false;
        }
        if (JWSAlgorithm.Family.RSA.contains(alg)) {
            return key instanceof RSAKey;
        }
        if (JWSAlgorithm.Family.EC.contains(alg)) {
            return key instanceof ECKey ec && Curve.forJWSAlgorithm(alg).contains(ec.getCurve());
        }
        return isEdDsa(alg) && key instanceof OctetKeyPair okp && Curve.Ed25519.equals(okp.getCurve());
    }

    private static boolean isEdDsa(JWSAlgorithm alg) {
        return JWSAlgorithm.EdDSA.equals(alg) || JWSAlgorithm.Ed25519.equals(alg);
    }

    private static boolean verified(SignedJWT jwt, JWK key) {
        try {
            if (key instanceof OctetKeyPair okp) { // the JDK's Ed25519, without Tink
                byte[] x = okp.getX().decode();
                byte[] spki = new byte[ED25519_SPKI.length + x.length];
                System.arraycopy(ED25519_SPKI, 0, spki, 0, ED25519_SPKI.length);
                System.arraycopy(x, 0, spki, ED25519_SPKI.length, x.length);
                PublicKey pub = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
                Signature s = Signature.getInstance("Ed25519");
                s.initVerify(pub);
                s.update(jwt.getSigningInput());
                return s.verify(jwt.getSignature().decode());
            }
            JWSVerifier v = key instanceof RSAKey rsa ? new RSASSAVerifier(rsa) : new ECDSAVerifier((ECKey) key);
            return jwt.verify(v);
        } catch (JOSEException | GeneralSecurityException | IllegalStateException e) {
            return false;
        }
    }
}
