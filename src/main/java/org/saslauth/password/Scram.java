package org.saslauth.password;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.Optional;
import java.util.function.Supplier;
import org.bouncycastle.crypto.Digest;
import org.bouncycastle.crypto.digests.SHA1Digest;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.PKCS5S2ParametersGenerator;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * {@code SCRAM-SHA-1} and {@code SCRAM-SHA-256} (RFC 5802, RFC 7677), stored as
 * {@code iterations,base64(salt),base64(StoredKey),base64(ServerKey)}:
 * <pre>
 * SaltedPassword = PBKDF2-HMAC-H(password, salt, iterations)
 * StoredKey      = H(HMAC(SaltedPassword, "Client Key"))
 * ServerKey      = HMAC(SaltedPassword, "Server Key")
 * </pre>
 * A password check compares StoredKey, as Dovecot does. Dovecot reads 4096 or more iterations
 * and makes 4096 with a 16-byte salt. The password is used as given, without SASLprep, also as
 * in Dovecot.
 */
final class Scram implements Scheme {

    static final Scram SHA1 = new Scram(ScramHash.SHA_1, SHA1Digest::new);
    static final Scram SHA256 = new Scram(ScramHash.SHA_256, SHA256Digest::new);
    private static final int MIN_ITERATIONS = 4096;

    private final ScramHash hash;
    private final Supplier<Digest> digest;

    private Scram(ScramHash hash, Supplier<Digest> digest) {
        this.hash = hash;
        this.digest = digest;
    }

    static Scram of(ScramHash hash) {
        return hash == ScramHash.SHA_1 ? SHA1 : SHA256;
    }

    /** The keys of {@code password}, as a {@code {SCRAM-H}} entry would hold them. */
    ScramKeys derive(byte[] password, byte[] salt, int iterations) {
        byte[] salted = salted(password, salt, iterations);
        try {
            return new ScramKeys(iterations, salt.clone(), storedKey(salted), hmac(salted, "Server Key"));
        } finally {
            Arrays.fill(salted, (byte) 0);
        }
    }

    @Override
    public Check check(byte[] raw, Optional<String> user) {
        String[] fields = new String(raw, StandardCharsets.UTF_8).split(",", -1);
        int iterations;
        byte[] salt;
        byte[] storedKey;
        byte[] serverKey;
        try {
            if (fields.length != 4) {
                throw new IllegalArgumentException();
            }
            iterations = Integer.parseInt(fields[0]); // a number over 2^31 is malformed too
            salt = Base64.getDecoder().decode(fields[1]);
            storedKey = Base64.getDecoder().decode(fields[2]);
            serverKey = Base64.getDecoder().decode(fields[3]);
            if (iterations < MIN_ITERATIONS || storedKey.length != hash.length() || serverKey.length != hash.length()) {
                throw new IllegalArgumentException();
            }
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("{" + hash.mechanism() + "} data is not iterations,salt,storedkey,serverkey"
                    + " with " + MIN_ITERATIONS + " or more iterations");
        }
        Costs.require(iterations <= Costs.MAX_ITERATIONS, hash.mechanism(), iterations + " iterations",
                Integer.toString(Costs.MAX_ITERATIONS));
        return new Stored(iterations, salt, storedKey, serverKey);
    }

    /** A parsed entry: checks passwords, and gives SCRAM-H its keys. */
    private final class Stored implements Check, ScramSecret {
        private final int iterations;
        private final byte[] salt;
        private final byte[] storedKey;
        private final byte[] serverKey;
        /** Whether the entry is of the empty password; found out once, on first asking. */
        private volatile Boolean empty;

        Stored(int iterations, byte[] salt, byte[] storedKey, byte[] serverKey) {
            this.iterations = iterations;
            this.salt = salt;
            this.storedKey = storedKey;
            this.serverKey = serverKey;
        }

        @Override
        public long cost() {
            return Costs.iterations(iterations);
        }

        @Override
        public boolean matches(byte[] password) {
            byte[] salted = salted(password, salt, iterations);
            byte[] made = storedKey(salted);
            try {
                return MessageDigest.isEqual(made, storedKey);
            } finally {
                Arrays.fill(salted, (byte) 0);
                Arrays.fill(made, (byte) 0);
            }
        }

        @Override
        public boolean serves(ScramHash wanted) {
            return wanted == hash;
        }

        @Override
        public Optional<ScramSalt> ownSalt(ScramHash wanted) {
            return wanted == hash ? Optional.of(new ScramSalt(iterations, salt.clone())) : Optional.empty();
        }

        /** The keys held, whatever {@code ignored} says: it is {@link #ownSalt}. */
        @Override
        public ScramKeys keys(ScramHash wanted, ScramSalt ignored) {
            if (wanted != hash) {
                throw new IllegalArgumentException("a {" + hash.mechanism() + "} entry has no keys for " + wanted.mechanism());
            }
            return new ScramKeys(iterations, salt.clone(), storedKey.clone(), serverKey.clone());
        }

        @Override
        public boolean emptyPassword() {
            Boolean e = empty;
            if (e == null) {
                e = matches(new byte[0]);
                empty = e;
            }
            return e;
        }
    }

    /** {@link ScramSecret#nobody} for a store whose usual entry holds keys, made on first use. */
    static ScramSecret nobodyWithKeys() {
        return NobodyWithKeys.SECRET;
    }

    /** Random keys for each hash, from a key of the process: nothing to derive, nothing they let in. */
    private static final class NobodyWithKeys implements ScramSecret {
        static final NobodyWithKeys SECRET = new NobodyWithKeys();
        private final byte[] key = new byte[32];

        private NobodyWithKeys() {
            new java.security.SecureRandom().nextBytes(key);
        }

        @Override
        public boolean serves(ScramHash hash) {
            return true;
        }

        @Override
        public Optional<ScramSalt> ownSalt(ScramHash hash) {
            return Optional.empty();
        }

        @Override
        public ScramKeys keys(ScramHash hash, ScramSalt salt) {
            Scram scram = of(hash);
            return new ScramKeys(salt.iterations(), salt.salt().clone(), scram.storedKey(key), scram.hmac(key, "Server Key"));
        }

        @Override
        public boolean emptyPassword() {
            return false;
        }
    }

    @Override
    public byte[] generate(byte[] password, Params params) {
        int iterations = params.roundsOr(MIN_ITERATIONS, MIN_ITERATIONS, Costs.MAX_ITERATIONS, hash.mechanism() + " iterations");
        byte[] salt = Salts.bytes(16);
        byte[] salted = salted(password, salt, iterations);
        byte[] stored = storedKey(salted);
        byte[] server = hmac(salted, "Server Key");
        Arrays.fill(salted, (byte) 0);
        Base64.Encoder b64 = Base64.getEncoder();
        String out = iterations + "," + b64.encodeToString(salt) + "," + b64.encodeToString(stored) + ","
                + b64.encodeToString(server);
        return out.getBytes(StandardCharsets.US_ASCII);
    }

    /** SaltedPassword derivations run on each thread, for {@link ScramSecret#derivationsOnThisThread}. */
    private static final ThreadLocal<long[]> DERIVATIONS = new ThreadLocal<>() {
        @Override
        protected long[] initialValue() {
            return new long[1];
        }
    };

    static long derivations() {
        return DERIVATIONS.get()[0];
    }

    /**
     * SaltedPassword, on Bouncy Castle: under the launcher's C1-only JIT it runs about twice as
     * fast as the JDK's HMAC, whose SHA intrinsics only C2 has.
     */
    private byte[] salted(byte[] password, byte[] salt, int iterations) {
        DERIVATIONS.get()[0]++;
        PKCS5S2ParametersGenerator generator = new PKCS5S2ParametersGenerator(digest.get());
        generator.init(password, salt, iterations);
        return ((KeyParameter) generator.generateDerivedParameters(hash.length() * 8)).getKey();
    }

    private byte[] storedKey(byte[] salted) {
        byte[] clientKey = hmac(salted, "Client Key");
        Digest h = digest.get();
        h.update(clientKey, 0, clientKey.length);
        byte[] out = new byte[hash.length()];
        h.doFinal(out, 0);
        Arrays.fill(clientKey, (byte) 0);
        return out;
    }

    private byte[] hmac(byte[] key, String text) {
        HMac mac = new HMac(digest.get());
        mac.init(new KeyParameter(key));
        byte[] data = text.getBytes(StandardCharsets.US_ASCII);
        mac.update(data, 0, data.length);
        byte[] out = new byte[hash.length()];
        mac.doFinal(out, 0);
        return out;
    }
}
