package org.saslauth.mech;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.saslauth.Deadline;
import org.saslauth.Text;
import org.saslauth.mech.Step.Failure;
import org.saslauth.mech.Step.Reason;
import org.saslauth.password.PasswordHash;
import org.saslauth.password.ScramHash;
import org.saslauth.password.ScramKeys;
import org.saslauth.password.ScramSalt;
import org.saslauth.password.ScramSecret;
import org.saslauth.password.ScramShape;
import org.saslauth.store.CredentialStore.Lookup;

/**
 * SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677), without channel binding.
 *
 * <pre>
 * client ----- AUTH SCRAM-SHA-256 [n,[a=authzid],n=user,r=cnonce] ---> server
 * client <---- CONT r=cnonce+snonce,s=salt,i=iterations --------------- server
 * client ----- c=biws,r=cnonce+snonce,p=proof ------------------------> server
 * client <---- CONT v=server-signature -------------------------------- server
 * client ----- (empty) -----------------------------------------------> server
 * client <---- OK user=user | FAIL ------------------------------------ server
 * </pre>
 *
 * The client proves it knows the password and checks that the server knows the keys (the
 * server signature); the server holds only StoredKey and ServerKey, from a
 * {@code {SCRAM-SHA-N}} entry or derived from a {@code {PLAIN}} one at each login. Postfix passes
 * no channel binding data, so only GS2 headers {@code n} and {@code y} are taken; {@code p=} is
 * refused. An authzid other than the user is refused, as in PLAIN. The server signature goes out
 * as a challenge, answered by an empty response, because Postfix does not take data with OK.
 *
 * <p>A user that is unknown, or whose entry cannot serve the mechanism, gets a server-first
 * message like any other and fails only at the proof. A user without keys of its own (unknown,
 * {@code {PLAIN}}, a one-way hash) is sent the iterations and salt length of the store's most
 * common SCRAM entry ({@link Credentials#scramShape}) and a salt that stays the same for the name
 * in this process. No key is derived before the server-first message, for any user. At the
 * proof, a {@code {PLAIN}} entry's keys are derived (with the iterations sent), an entry that
 * holds keys has them, and a user without an entry that serves costs what the store's usual
 * entry does (a derivation of a random password's keys, or none): in a store whose entries are
 * of one kind, a proof's time does not tell users apart either.
 *
 * <p>Between its steps an exchange keeps the GS2 header and the bare client-first message, at
 * most {@link #MAX_CLIENT_FIRST} bytes together, the canonical name, the nonce, the server-first
 * message and a reference to the user's entry; never a key.
 */
public final class ScramMechanism implements Mechanism {

    /** Longest client nonce taken; RFC 5802 sets none, real clients send 24 to 32 characters. */
    static final int MAX_NONCE = 256;
    /**
     * Longest client-first message taken, in bytes: what an exchange keeps of it (the GS2 header
     * and the bare message, for the channel binding and the AuthMessage) stays within it until
     * the client's next step, however many exchanges are half done. RFC 5802 sets no limit; GNU
     * SASL sends {@code n,a=authzid,n=user,r=} and 24 characters of nonce, under 100 bytes for a
     * usual address, and an authzid and a user of 253 characters each still fit.
     */
    static final int MAX_CLIENT_FIRST = 1024;
    private static final int SERVER_NONCE_BYTES = 18;

    private final ScramHash hash;
    /** Set server nonces, for the RFCs' examples; null for fresh ones. */
    private final Supplier<String> serverNonces;

    // No lambda or SecureRandom here: the built-in mechanisms are made at every start.
    public ScramMechanism(ScramHash hash) {
        this(hash, null);
    }

    ScramMechanism(ScramHash hash, Supplier<String> serverNonces) {
        this.hash = hash;
        this.serverNonces = serverNonces;
    }

    private String serverNonce() {
        if (serverNonces != null) {
            return serverNonces.get();
        }
        byte[] random = new byte[SERVER_NONCE_BYTES];
        Nonces.RANDOM.nextBytes(random);
        return Base64.getEncoder().encodeToString(random);
    }

    /** Set up on first use. */
    private static final class Nonces {
        static final SecureRandom RANDOM = new SecureRandom();
    }

    @Override
    public String name() {
        return hash.mechanism();
    }

    /** As Dovecot 2.3 announces it. */
    /** The stored password or keys: a passdb that only checks passwords cannot serve it. */
    @Override
    public Need needs() {
        return Need.LOOKUP;
    }

    @Override
    public Set<Flag> flags() {
        return Set.of(Flag.MUTUAL_AUTH);
    }

    @Override
    public Exchange newExchange(Credentials credentials) {
        return new ScramExchange(credentials);
    }

    /** One message did not parse; the detail goes to the log. */
    private static final class Malformed extends Exception {
        Malformed(String detail) {
            super(detail, null, false, false);
        }
    }

    private final class ScramExchange implements Exchange {
        private enum Awaiting { START, CLIENT_FIRST, CLIENT_FINAL, ACKNOWLEDGEMENT, NOTHING }

        private final Credentials credentials;
        private Awaiting awaiting = Awaiting.START;
        private String user;
        private String gs2Header;
        private String clientFirstBare;
        private String serverFirst;
        private String nonce;
        /** The iterations and salt sent, which the keys are derived with. */
        private ScramSalt salt;
        /** The user's entry, or empty when the exchange can only fail, for {@link #refusal}. */
        private Optional<ScramSecret> secret = Optional.empty();
        /** Whether the store's usual entry derives keys at the proof, as a stand-in for a user without one must. */
        private boolean usualDerives;
        private Failure refusal;

        ScramExchange(Credentials credentials) {
            this.credentials = credentials;
        }

        @Override
        public Step start(Optional<byte[]> initialResponse, Deadline deadline) {
            if (awaiting != Awaiting.START) {
                return malformed("exchange started twice");
            }
            awaiting = Awaiting.CLIENT_FIRST;
            return initialResponse.map(r -> next(r, deadline)).orElseGet(() -> new Step.Challenge(new byte[0]));
        }

        @Override
        public Step next(byte[] response, Deadline deadline) {
            Awaiting now = awaiting;
            awaiting = Awaiting.NOTHING; // until a step succeeds
            try {
                return switch (now) {
                    case CLIENT_FIRST -> clientFirst(response, deadline);
                    case CLIENT_FINAL -> clientFinal(text(response));
                    case ACKNOWLEDGEMENT -> acknowledgement(response);
                    case START, NOTHING -> malformed("message after the exchange ended");
                };
            } catch (Malformed e) {
                return malformed(e.getMessage());
            }
        }

        private Step malformed(String detail) {
            awaiting = Awaiting.NOTHING;
            return Failure.of(Reason.MALFORMED, Optional.ofNullable(user), detail);
        }

        /** {@code gs2-header client-first-message-bare}. */
        private Step clientFirst(byte[] response, Deadline deadline) throws Malformed {
            if (response.length > MAX_CLIENT_FIRST) {
                throw new Malformed("client-first message over " + MAX_CLIENT_FIRST + " bytes (" + response.length + ")");
            }
            String message = text(response);
            int flagEnd = message.indexOf(',');
            int headerEnd = flagEnd < 0 ? -1 : message.indexOf(',', flagEnd + 1);
            if (headerEnd < 0) {
                throw new Malformed("no GS2 header");
            }
            String flag = message.substring(0, flagEnd);
            if (flag.startsWith("p=")) {
                throw new Malformed("channel binding (p=) is not supported");
            }
            if (!flag.equals("n") && !flag.equals("y")) {
                throw new Malformed("GS2 channel binding flag is not n or y");
            }
            String authzidField = message.substring(flagEnd + 1, headerEnd);
            byte[] authzid = new byte[0];
            if (!authzidField.isEmpty()) {
                authzid = saslName(attribute(authzidField, 'a', "authzid"));
            }
            gs2Header = message.substring(0, headerEnd + 1);
            clientFirstBare = message.substring(headerEnd + 1);

            String[] attrs = clientFirstBare.split(",", -1);
            if (attrs[0].startsWith("m=")) {
                throw new Malformed("mandatory extension (m=) is not supported");
            }
            if (attrs.length < 2) {
                throw new Malformed("user name or nonce missing");
            }
            byte[] authcid = saslName(attribute(attrs[0], 'n', "user name"));
            String clientNonce = attribute(attrs[1], 'r', "nonce");
            if (clientNonce.isEmpty() || clientNonce.length() > MAX_NONCE || !printable(clientNonce)) {
                throw new Malformed("nonce is empty, longer than " + MAX_NONCE + " or not printable ASCII");
            }
            extensions(attrs, 2);

            Optional<String> canonical = credentials.canonical(authcid);
            if (canonical.isEmpty()) {
                return Failure.of(Reason.INVALID_USER_NAME);
            }
            user = canonical.get();
            if (authzid.length > 0 && !Arrays.equals(authzid, authcid)) {
                return Failure.of(Reason.AUTHZID_REFUSED, user);
            }
            Lookup found = credentials.lookup(user, deadline);
            if (found instanceof Lookup.Unavailable) {
                return Failure.of(Reason.UNAVAILABLE, user);
            }
            // No key is derived here, for any user: the salt and iterations are all this message
            // needs, and what a user without keys of its own is sent reads like an entry.
            ScramShape usual = credentials.scramShape(hash);
            ScramSalt usualSalt = credentials.scramSalt(user, hash, usual);
            usualDerives = usual.derived();
            if (found instanceof Lookup.Found f) {
                PasswordHash stored = f.stored();
                secret = stored.scram().filter(s -> s.serves(hash));
                if (secret.isEmpty()) {
                    refusal = Failure.of(Reason.UNSUITABLE_ENTRY, Optional.of(user),
                            "{" + stored.scheme() + "} cannot serve " + hash.mechanism());
                }
            } else if (found instanceof Lookup.UnknownUser) {
                refusal = Failure.of(Reason.UNKNOWN_USER, user);
            } else {
                refusal = Failure.of(Reason.UNSUITABLE_ENTRY, Optional.of(user),
                        "the credential store cannot hand out stored passwords");
            }
            salt = secret.flatMap(s -> s.ownSalt(hash)).orElse(usualSalt);

            nonce = clientNonce + serverNonce();
            serverFirst = "r=" + nonce + ",s=" + Base64.getEncoder().encodeToString(salt.salt()) + ",i="
                    + salt.iterations();
            awaiting = Awaiting.CLIENT_FINAL;
            return new Step.Challenge(serverFirst.getBytes(StandardCharsets.US_ASCII));
        }

        /** {@code c=gs2-header,r=nonce[,extensions],p=proof}. */
        private Step clientFinal(String message) throws Malformed {
            int proofAt = message.lastIndexOf(",p=");
            if (proofAt < 0) {
                throw new Malformed("proof missing");
            }
            String withoutProof = message.substring(0, proofAt);
            String[] attrs = withoutProof.split(",", -1);
            if (attrs.length < 2) {
                throw new Malformed("channel binding or nonce missing");
            }
            byte[] binding = base64(attribute(attrs[0], 'c', "channel binding"), "channel binding");
            if (!Arrays.equals(binding, gs2Header.getBytes(StandardCharsets.UTF_8))) {
                throw new Malformed("channel binding is not the GS2 header sent first");
            }
            String echoed = attribute(attrs[1], 'r', "nonce");
            if (!MessageDigest.isEqual(echoed.getBytes(StandardCharsets.US_ASCII),
                    nonce.getBytes(StandardCharsets.US_ASCII))) {
                throw new Malformed("nonce is not the one sent");
            }
            extensions(attrs, 2);
            byte[] proof = base64(message.substring(proofAt + 3), "proof");
            if (proof.length != hash.length()) {
                throw new Malformed("proof is " + proof.length + " bytes, not " + hash.length());
            }
            // An entry that holds the password derives its keys here, at the iterations sent, one
            // that holds keys has them; a user without an entry that serves costs what the
            // store's usual entry does.
            ScramSecret source = secret.isPresent() ? secret.get() : ScramSecret.nobody(usualDerives);
            ScramKeys k = source.keys(hash, salt);
            byte[] clientKey = null;
            byte[] storedKey = null;
            try {
                byte[] authMessage = (clientFirstBare + "," + serverFirst + "," + withoutProof)
                        .getBytes(StandardCharsets.UTF_8);
                clientKey = hmac(k.storedKey(), authMessage);
                for (int i = 0; i < clientKey.length; i++) {
                    clientKey[i] ^= proof[i];
                }
                storedKey = digest(clientKey);
                boolean proven = MessageDigest.isEqual(storedKey, k.storedKey());
                if (refusal != null) {
                    return refusal;
                }
                if (!proven) {
                    // No guess for the penalty: a wrong proof says nothing stable about the
                    // password tried, so every failure counts.
                    return Failure.of(Reason.WRONG_PASSWORD, user);
                }
                if (source.emptyPassword()) {
                    return Failure.of(Reason.WRONG_PASSWORD, Optional.of(user), "the stored password is empty");
                }
                Optional<Reason> refused = credentials.refusedDespiteRightPassword(user);
                if (refused.isPresent()) { // before the signature, which would tell the client it guessed right
                    return Failure.of(refused.get(), user);
                }
                byte[] signature = hmac(k.serverKey(), authMessage);
                awaiting = Awaiting.ACKNOWLEDGEMENT;
                return new Step.Challenge(("v=" + Base64.getEncoder().encodeToString(signature))
                        .getBytes(StandardCharsets.US_ASCII));
            } finally {
                k.wipe();
                if (clientKey != null) {
                    Arrays.fill(clientKey, (byte) 0);
                }
                if (storedKey != null) {
                    Arrays.fill(storedKey, (byte) 0);
                }
            }
        }

        /** The client read the server signature; anything but an empty answer is out of order. */
        private Step acknowledgement(byte[] response) throws Malformed {
            if (response.length != 0) {
                throw new Malformed("non-empty answer to the server signature");
            }
            return new Step.Success(user);
        }

        private byte[] hmac(byte[] key, byte[] data) {
            try {
                Mac mac = Mac.getInstance(hash.hmac());
                mac.init(new SecretKeySpec(key, hash.hmac()));
                return mac.doFinal(data);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }

        private byte[] digest(byte[] data) {
            try {
                return MessageDigest.getInstance(hash.digest()).digest(data);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** The message as UTF-8, strictly: SCRAM messages are UTF-8 and saslnames must be. */
    static String text(byte[] message) throws Malformed {
        try {
            return Text.utf8(message);
        } catch (CharacterCodingException e) {
            throw new Malformed("message is not UTF-8");
        }
    }

    /** The value of {@code name=value}, or Malformed naming {@code what}. */
    private static String attribute(String field, char name, String what) throws Malformed {
        if (field.length() < 2 || field.charAt(0) != name || field.charAt(1) != '=') {
            throw new Malformed(what + " (" + name + "=) missing");
        }
        return field.substring(2);
    }

    /** Extensions are {@code letter=value}; none is understood, so each is skipped. */
    private static void extensions(String[] attrs, int from) throws Malformed {
        for (int i = from; i < attrs.length; i++) {
            String a = attrs[i];
            char c = a.isEmpty() ? 0 : a.charAt(0);
            if (a.length() < 2 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) || a.charAt(1) != '=') {
                throw new Malformed("attribute " + (i + 1) + " is not letter=value");
            }
        }
    }

    /** A saslname with {@code =2C} for ',' and {@code =3D} for '=', as bytes of UTF-8. */
    private static byte[] saslName(String value) throws Malformed {
        StringBuilder out = new StringBuilder(value.length());
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c != '=') {
                out.append(c);
            } else if (value.startsWith("2C", i + 1)) {
                out.append(',');
                i += 2;
            } else if (value.startsWith("3D", i + 1)) {
                out.append('=');
                i += 2;
            } else {
                throw new Malformed("'=' in a name not followed by 2C or 3D");
            }
        }
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] base64(String value, String what) throws Malformed {
        try {
            return Base64.getDecoder().decode(value);
        } catch (IllegalArgumentException e) {
            throw new Malformed(what + " is not base64");
        }
    }

    /** RFC 5802's {@code printable}: %x21-2B / %x2D-7E. */
    private static boolean printable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x21 || c > 0x7e || c == ',') {
                return false;
            }
        }
        return true;
    }
}
