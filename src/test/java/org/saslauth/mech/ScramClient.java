package org.saslauth.mech;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;
import org.saslauth.password.ScramHash;

/** A SCRAM client written from RFC 5802 with the JDK's own PBKDF2 and HMAC, to test the server. */
final class ScramClient {
    final ScramHash hash;
    final String user;
    final String password;
    final String clientNonce;
    String gs2 = "n,,";
    String bare;
    String expectedServerSignature;

    ScramClient(ScramHash hash, String user, String password, String clientNonce) {
        this.hash = hash;
        this.user = user;
        this.password = password;
        this.clientNonce = clientNonce;
    }

    static String saslName(String name) {
        return name.replace("=", "=3D").replace(",", "=2C");
    }

    String first() {
        bare = "n=" + saslName(user) + ",r=" + clientNonce;
        return gs2 + bare;
    }

    /** The client-final message answering {@code serverFirst}. */
    String last(String serverFirst) throws Exception {
        Map<Character, String> a = attributes(serverFirst);
        byte[] salt = Base64.getDecoder().decode(a.get('s'));
        int iterations = Integer.parseInt(a.get('i'));
        byte[] salted = salted(password, salt, iterations);
        byte[] clientKey = hmac(salted, "Client Key".getBytes(StandardCharsets.US_ASCII));
        byte[] storedKey = MessageDigest.getInstance(hash.digest()).digest(clientKey);
        String withoutProof = "c=" + Base64.getEncoder().encodeToString(gs2.getBytes(StandardCharsets.UTF_8))
                + ",r=" + a.get('r');
        byte[] authMessage = (bare + "," + serverFirst + "," + withoutProof).getBytes(StandardCharsets.UTF_8);
        byte[] signature = hmac(storedKey, authMessage);
        byte[] proof = new byte[clientKey.length];
        for (int i = 0; i < proof.length; i++) {
            proof[i] = (byte) (clientKey[i] ^ signature[i]);
        }
        byte[] serverKey = hmac(salted, "Server Key".getBytes(StandardCharsets.US_ASCII));
        expectedServerSignature = "v=" + Base64.getEncoder().encodeToString(hmac(serverKey, authMessage));
        return withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof);
    }

    /** A {@code {SCRAM-H}} entry for the password with this salt. */
    static String entry(ScramHash hash, String password, byte[] salt, int iterations) throws Exception {
        ScramClient c = new ScramClient(hash, "", password, "");
        byte[] salted = c.salted(password, salt, iterations);
        byte[] clientKey = c.hmac(salted, "Client Key".getBytes(StandardCharsets.US_ASCII));
        Base64.Encoder b64 = Base64.getEncoder();
        return "{" + hash.mechanism() + "}" + iterations + "," + b64.encodeToString(salt) + ","
                + b64.encodeToString(MessageDigest.getInstance(hash.digest()).digest(clientKey)) + ","
                + b64.encodeToString(c.hmac(salted, "Server Key".getBytes(StandardCharsets.US_ASCII)));
    }

    static Map<Character, String> attributes(String message) {
        Map<Character, String> out = new HashMap<>();
        for (String field : message.split(",")) {
            out.put(field.charAt(0), field.substring(2));
        }
        return out;
    }

    /** SaltedPassword by password, salt and iterations: a client may keep it, as real ones do. */
    private static final Map<String, byte[]> SALTED = new java.util.concurrent.ConcurrentHashMap<>();

    byte[] salted(String pw, byte[] salt, int iterations) throws Exception {
        String id = hash + "\0" + pw + "\0" + Base64.getEncoder().encodeToString(salt) + "\0" + iterations;
        byte[] known = SALTED.get(id);
        if (known != null) {
            return known.clone();
        }
        byte[] made = derive(pw, salt, iterations);
        SALTED.put(id, made.clone());
        return made;
    }

    private byte[] derive(String pw, byte[] salt, int iterations) throws Exception {
        String algorithm = hash == ScramHash.SHA_1 ? "PBKDF2WithHmacSHA1" : "PBKDF2WithHmacSHA256";
        PBEKeySpec spec = new PBEKeySpec(pw.toCharArray(), salt, iterations, hash.length() * 8);
        return SecretKeyFactory.getInstance(algorithm).generateSecret(spec).getEncoded();
    }

    byte[] hmac(byte[] key, byte[] data) throws Exception {
        Mac mac = Mac.getInstance(hash.hmac());
        mac.init(new SecretKeySpec(key, hash.hmac()));
        return mac.doFinal(data);
    }
}
