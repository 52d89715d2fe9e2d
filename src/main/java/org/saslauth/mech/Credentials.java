package org.saslauth.mech;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.saslauth.Deadline;
import org.saslauth.Text;
import org.saslauth.password.CostlyChecks;
import org.saslauth.password.ScramHash;
import org.saslauth.password.ScramSalt;
import org.saslauth.password.ScramShape;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.UserNameFormat;

/**
 * What a mechanism may ask about users: turn the name a client sent into the canonical one,
 * check a password, or look up the stored entry. Mechanisms never read a credential store
 * directly.
 */
public final class Credentials {

    /** Longest user name accepted, in bytes of UTF-8. */
    public static final int MAX_USER_BYTES = 255;

    /** Longest password accepted, in bytes. */
    public static final int MAX_PASSWORD_BYTES = 256;

    private final CredentialStore store;
    private final UserNameFormat format;
    private final CostlyChecks slots;
    private final Gate gate;
    /** Null until {@link #withTokens}: a helper without token mechanisms never loads {@link Tokens}. */
    private final Tokens tokens;

    /**
     * What the penalty says of a login before its password is checked, and the key of its
     * guesses' fingerprints: given per exchange by the engine, which knows the client.
     */
    public interface Gate {

        /**
         * Why {@code user}'s login is refused without checking the password (a banned address,
         * a protected user's unknown network), or empty when the password is to be checked.
         */
        Optional<Step.Reason> refusal(String user);

        /** The key of {@link #guess}: the penalty store's, shared by whoever shares the store. */
        byte[] guessKey();

        /**
         * The password of {@code user} was right: why the login is refused all the same (a
         * banned address, a protected user), or empty when it may succeed.
         */
        Optional<Step.Reason> refusedDespite(String user);
    }

    /**
     * For a mechanism that shows the client its password was right before its last step
     * (SCRAM's server signature, which only the holder of the stored keys can make): why the
     * penalty refuses the login all the same, asked before showing it, so that a banned client
     * learns nothing from a right guess. Empty when it may go on.
     */
    public Optional<Step.Reason> refusedDespiteRightPassword(String user) {
        return gate == null ? Optional.empty() : gate.refusedDespite(user);
    }

    /** With a slot for a slow hash per processor. */
    public Credentials(CredentialStore store, UserNameFormat format) {
        this(store, format, CostlyChecks.perProcessor());
    }

    /** @param slots the process's slots for slow hashes, which every check of a stored hash takes */
    public Credentials(CredentialStore store, UserNameFormat format, CostlyChecks slots) {
        this(store, format, slots, null);
    }

    private Credentials(CredentialStore store, UserNameFormat format, CostlyChecks slots, Gate gate, Tokens tokens) {
        this.store = store;
        this.format = format;
        this.slots = slots;
        this.gate = gate;
        this.tokens = tokens;
    }

    private Credentials(CredentialStore store, UserNameFormat format, CostlyChecks slots, Gate gate) {
        this(store, format, slots, gate, null);
    }

    /** These credentials for one exchange, whose logins pass {@code gate} first. */
    public Credentials gated(Gate gate) {
        return new Credentials(store, format, slots, gate, tokens);
    }

    /** These credentials, with bearer tokens checked by {@code tokens} (none when null). */
    public Credentials withTokens(Tokens tokens) {
        return new Credentials(store, format, slots, gate, tokens);
    }

    /** {@link Tokens#scope}. */
    public Optional<String> tokenScope() {
        return tokens == null ? Optional.empty() : tokens.scope();
    }

    /** {@link Tokens#configuration}. */
    public Optional<String> tokenConfiguration() {
        return tokens == null ? Optional.empty() : tokens.configuration();
    }

    /**
     * The last step of the token mechanisms: the token checked by its issuer, and the user it
     * names made canonical as a client's name is; {@code named}, the user the client's message
     * names, when there is one, must be that user. The penalty sees the login as a password
     * login of {@code named} (or of the token's user), the token standing for the password.
     */
    public Step checkToken(Optional<byte[]> named, String token, Deadline deadline) {
        Optional<String> claimed = Optional.empty();
        if (named.isPresent()) {
            claimed = canonical(named.get());
            if (claimed.isEmpty()) {
                return Step.Failure.of(Step.Reason.INVALID_USER_NAME);
            }
            Optional<Step.Reason> unchecked = gate == null ? Optional.empty() : gate.refusal(claimed.get());
            if (unchecked.isPresent()) { // the same FAIL as a refused token, unchecked
                return guessed(unchecked.get(), claimed.get(), token.getBytes(StandardCharsets.US_ASCII));
            }
        }
        Tokens.Verdict verdict = (tokens == null ? Tokens.NONE : tokens).check(token, deadline);
        if (verdict instanceof Tokens.Verdict.Unavailable u) {
            return Step.Failure.of(Step.Reason.UNAVAILABLE, claimed, u.why());
        }
        if (verdict instanceof Tokens.Verdict.Invalid i) {
            return new Step.Failure(Step.Reason.INVALID_TOKEN, claimed,
                    claimed.isPresent() ? java.util.OptionalInt.of(guess(claimed.get(), token.getBytes(StandardCharsets.US_ASCII))) : java.util.OptionalInt.empty(),
                    Optional.of(i.scope() ? "scope: " + i.why() : i.why()));
        }
        String owner = ((Tokens.Verdict.Valid) verdict).user();
        Optional<String> user = canonical(owner.getBytes(StandardCharsets.UTF_8));
        if (user.isEmpty()) {
            return Step.Failure.of(Step.Reason.INVALID_TOKEN, claimed, "its username claim is not a valid user name");
        }
        if (claimed.isPresent() && !claimed.get().equals(user.get())) {
            return Step.Failure.of(Step.Reason.AUTHZID_REFUSED, claimed, "the token is " + user.get() + "'s");
        }
        if (claimed.isEmpty() && gate != null) {
            Optional<Step.Reason> unchecked = gate.refusal(user.get());
            if (unchecked.isPresent()) {
                return new Step.Failure(unchecked.get(), user, java.util.OptionalInt.empty());
            }
        }
        Optional<Step.Reason> despite = refusedDespiteRightPassword(user.get());
        if (despite.isPresent()) { // refused before the client could tell a good token from a bad one
            return new Step.Failure(despite.get(), claimed.isPresent() ? claimed : user, java.util.OptionalInt.empty());
        }
        return new Step.Success(user.get());
    }

    /**
     * The canonical form of a user name sent by a client, or empty when the name cannot be a
     * user: not UTF-8, empty, longer than {@value #MAX_USER_BYTES} bytes, or holding a control
     * character (NUL, TAB, CR, LF, {@code \001}, DEL, the Unicode line and paragraph
     * separators...), which no passwd-file line can hold and
     * which would only serve to forge log lines, or a Unicode format character (category Cf:
     * the bidi overrides and isolates such as U+202E, zero-width joiners, U+FEFF...), which
     * would make a name in a reply or the log read as another.
     */
    public Optional<String> canonical(byte[] rawName) {
        if (rawName.length == 0 || rawName.length > MAX_USER_BYTES) {
            return Optional.empty();
        }
        String name;
        try {
            name = Text.utf8(rawName);
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
        for (int i = 0; i < name.length(); ) {
            int c = name.codePointAt(i);
            if (org.saslauth.Text.isControl(c) || Character.getType(c) == Character.FORMAT) {
                return Optional.empty();
            }
            i += Character.charCount(c);
        }
        return Optional.of(format.apply(name));
    }

    /**
     * A 32-bit digest of a user name and password under a key that lives only in this process:
     * equal for the same guess, useless for recovering the password. Dovecot's auth penalty
     * keeps a CRC of the last password for the same purpose.
     */
    public int guess(String user, byte[] password) {
        if (gate != null) { // shared with other processes: an HMAC under the store's key
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(new SecretKeySpec(gate.guessKey(), "HmacSHA256"));
                mac.update(user.getBytes(StandardCharsets.UTF_8));
                mac.update((byte) 0);
                byte[] h = mac.doFinal(password);
                return (h[0] & 0xff) << 24 | (h[1] & 0xff) << 16 | (h[2] & 0xff) << 8 | (h[3] & 0xff);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update(GuessKey.KEY);
            d.update(user.getBytes(StandardCharsets.UTF_8));
            d.update((byte) 0);
            d.update(password);
            byte[] h = d.digest();
            return (h[0] & 0xff) << 24 | (h[1] & 0xff) << 16 | (h[2] & 0xff) << 8 | (h[3] & 0xff);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * What the store's usual SCRAM entry for {@code hash} looks like ({@link
     * CredentialStore#scramShape}): what SCRAM makes of a user without keys of its own.
     */
    public ScramShape scramShape(ScramHash hash) {
        return store.scramShape(hash);
    }

    /**
     * The iterations and salt a SCRAM client is sent for a user whose entry has none of its own
     * for {@code hash}: an unknown user, a {@code {PLAIN}} entry (whose keys are derived with
     * them), or an entry that cannot serve the mechanism. The iterations and salt length are
     * {@code shape}'s, the salt is {@link #stableSalt}: such a user reads like one with an entry
     * of that shape.
     */
    public ScramSalt scramSalt(String user, ScramHash hash, ScramShape shape) {
        return new ScramSalt(shape.iterations(), stableSalt(user, hash.mechanism(), shape.saltBytes()));
    }

    /**
     * A salt of {@code length} bytes keyed with a key of this process and the name, so that
     * asking twice gives the same salt, as for a real entry, and other processes' salts say
     * nothing of it: HMAC-SHA256 blocks of the purpose, the name and a block number.
     */
    static byte[] stableSalt(String user, String purpose, int length) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(GuessKey.KEY, "HmacSHA256"));
            byte[] out = new byte[length];
            for (int at = 0, block = 0; at < length; block++) {
                mac.update(purpose.getBytes(StandardCharsets.UTF_8));
                mac.update((byte) 0);
                mac.update(user.getBytes(StandardCharsets.UTF_8));
                mac.update((byte) 0);
                mac.update((byte) block);
                byte[] b = mac.doFinal();
                int n = Math.min(b.length, length - at);
                System.arraycopy(b, 0, out, at, n);
                at += n;
            }
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The stored entry of a canonical user name, for mechanisms that need the key rather than a
     * password to check (CRAM-MD5, SCRAM), and for the daemon's userdb lookups (does a user exist);
     * {@link CredentialStore.Lookup.Unavailable} when the store does not answer by {@code deadline}.
     */
    public CredentialStore.Lookup lookup(String user, Deadline deadline) {
        return store.lookup(user, deadline);
    }

    /** Made on first use, not at start-up. */
    private static final class GuessKey {
        static final byte[] KEY = new byte[32];

        static {
            new SecureRandom().nextBytes(KEY);
        }
    }

    /** Looks at the users again now (SIGHUP in a daemon). */
    public void reload() {
        store.reload();
    }

    /**
     * The last step of the password mechanisms: checks the password and turns the store's
     * verdict into a step, a temporary failure when the store could not answer by
     * {@code deadline}. The caller wipes the password.
     */
    public Step check(String user, byte[] password, Deadline deadline) {
        Optional<Step.Reason> refused = refusal(password);
        if (refused.isPresent()) {
            return guessed(refused.get(), user, password);
        }
        Optional<Step.Reason> unchecked = gate == null ? Optional.empty() : gate.refusal(user);
        if (unchecked.isPresent()) { // the same FAIL as a wrong password, unchecked
            return guessed(unchecked.get(), user, password);
        }
        CredentialStore.Checked checked = authenticate(user, password, deadline);
        return switch (checked.verdict()) {
            case ACCEPTED -> new Step.Success(checked.user());
            case WRONG_PASSWORD -> guessed(Step.Reason.WRONG_PASSWORD, user, password);
            case UNKNOWN_USER -> guessed(Step.Reason.UNKNOWN_USER, user, password);
            case REFUSED -> new Step.Failure(Step.Reason.REFUSED, Optional.of(user),
                    java.util.OptionalInt.of(guess(user, password)), checked.detail());
            case UNAVAILABLE -> Step.Failure.of(Step.Reason.UNAVAILABLE, user);
            case OVERLOADED -> Step.Failure.of(Step.Reason.OVERLOADED); // as when no worker was free: no user=
        };
    }

    private Step.Failure guessed(Step.Reason reason, String user, byte[] password) {
        return new Step.Failure(reason, Optional.of(user), java.util.OptionalInt.of(guess(user, password)));
    }

    /**
     * Why {@code password} is refused before any store sees it, or empty when it may be checked.
     * The empty password never logs in, whatever the passwd file holds: an empty {@code {PLAIN}}
     * field is a provisioning mistake, not an account. A password holding a NUL is refused in
     * every mechanism: bcrypt and DES stop at the first NUL and the HMAC-based schemes (PBKDF2,
     * SCRAM, CRAM-MD5) pad their key with zeros, so that {@code "\0"} would match a hash of the
     * empty password and {@code "secret\0"} one of {@code "secret"}; no client types a NUL. A
     * password over {@value #MAX_PASSWORD_BYTES} bytes is refused because SHA-crypt's time grows
     * with the password's length times its rounds, and the client chooses the length.
     */
    public static Optional<Step.Reason> refusal(byte[] password) {
        if (password.length == 0) {
            return Optional.of(Step.Reason.WRONG_PASSWORD);
        }
        if (password.length > MAX_PASSWORD_BYTES) {
            return Optional.of(Step.Reason.PASSWORD_TOO_LONG);
        }
        for (byte b : password) {
            if (b == 0) {
                return Optional.of(Step.Reason.PASSWORD_HAS_NUL);
            }
        }
        return Optional.empty();
    }

    /**
     * Checks {@code password} for a canonical user name; a password {@link #refusal} refuses is
     * a wrong password. The caller wipes the password.
     */
    public CredentialStore.Verdict verify(String user, byte[] password, Deadline deadline) {
        return authenticate(user, password, deadline).verdict();
    }

    /** {@link #verify}, with the name the store knows the user by, for the OK. */
    public CredentialStore.Checked authenticate(String user, byte[] password, Deadline deadline) {
        if (refusal(password).isPresent()) {
            return new CredentialStore.Checked(CredentialStore.Verdict.WRONG_PASSWORD, user);
        }
        return store.check(user, password, slots, deadline);
    }
}
