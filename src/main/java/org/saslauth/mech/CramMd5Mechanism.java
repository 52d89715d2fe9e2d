package org.saslauth.mech;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.saslauth.Deadline;
import org.saslauth.mech.Step.Failure;
import org.saslauth.mech.Step.Reason;
import org.saslauth.password.CramMd5Secret;
import org.saslauth.password.PasswordHash;
import org.saslauth.store.CredentialStore.Lookup;

/**
 * CRAM-MD5, RFC 2195.
 *
 * <pre>
 * client ----- AUTH CRAM-MD5 -----------------------------------> server
 * client <---- CONT "&lt;random.timestamp@host&gt;" ----------------- server
 * client ----- user SP hex(HMAC-MD5(password, challenge)) -----> server
 * client <---- OK user=user | FAIL ----------------------------- server
 * </pre>
 *
 * The password never crosses the wire, but the server must hold it or its HMAC-MD5 key state
 * ({@code {PLAIN}} or {@code {CRAM-MD5}} entries); a one-way hash cannot serve it. The user name
 * may hold spaces: the last space ends it, as in Dovecot. The challenge is fresh for every
 * exchange. A server-first mechanism, it takes no initial response; an empty one is read as none.
 */
public final class CramMd5Mechanism implements Mechanism {

    private static final int DIGEST_HEX = 32;

    /** Set challenges, for the RFC's example; null for fresh ones. */
    private final Supplier<byte[]> challenges;

    // No lambda or SecureRandom here: the built-in mechanisms are made at every start, and
    // either would cost milliseconds of start-up for a mechanism that may not be enabled.
    public CramMd5Mechanism() {
        this(null);
    }

    CramMd5Mechanism(Supplier<byte[]> challenges) {
        this.challenges = challenges;
    }

    @Override
    public String name() {
        return "CRAM-MD5";
    }

    /** As Dovecot 2.3 announces it. */
    /** The stored password or keys: a passdb that only checks passwords cannot serve it. */
    @Override
    public Need needs() {
        return Need.LOOKUP;
    }

    @Override
    public Set<Flag> flags() {
        return Set.of(Flag.DICTIONARY, Flag.ACTIVE);
    }

    @Override
    public Exchange newExchange(Credentials credentials) {
        return new CramMd5Exchange(credentials, challenges == null ? challenge() : challenges.get());
    }

    /** {@code <random.timestamp@host>}, as Dovecot makes it. */
    static byte[] challenge() {
        String random = Long.toUnsignedString(Host.RANDOM.nextLong());
        long now = System.currentTimeMillis() / 1000;
        return ("<" + random + "." + now + "@" + Host.NAME + ">").getBytes(StandardCharsets.US_ASCII);
    }

    private static final class CramMd5Exchange implements Exchange {
        private enum Awaiting { START, RESPONSE, NOTHING }

        private final Credentials credentials;
        private Awaiting awaiting = Awaiting.START;
        private final byte[] challenge;

        CramMd5Exchange(Credentials credentials, byte[] challenge) {
            this.credentials = credentials;
            this.challenge = challenge;
        }

        @Override
        public Step start(Optional<byte[]> initialResponse, Deadline deadline) {
            if (awaiting != Awaiting.START) {
                return end(Failure.of(Reason.MALFORMED, Optional.empty(), "exchange started twice"));
            }
            if (initialResponse.isPresent() && initialResponse.get().length > 0) {
                return end(Failure.of(Reason.MALFORMED, Optional.empty(), "CRAM-MD5 takes no initial response"));
            }
            awaiting = Awaiting.RESPONSE;
            return new Step.Challenge(challenge.clone());
        }

        @Override
        public Step next(byte[] response, Deadline deadline) {
            if (awaiting != Awaiting.RESPONSE) {
                return end(Failure.of(Reason.MALFORMED, Optional.empty(), "response after the exchange ended"));
            }
            return end(verify(response, deadline));
        }

        private Step end(Step step) {
            awaiting = Awaiting.NOTHING;
            return step;
        }

        private Step verify(byte[] response, Deadline deadline) {
            int space = -1;
            for (int i = 0; i < response.length; i++) {
                if (response[i] == 0) {
                    return Failure.of(Reason.MALFORMED, Optional.empty(), "NUL in response");
                }
                if (response[i] == ' ') {
                    space = i;
                }
            }
            if (space < 0 || response.length - space - 1 != DIGEST_HEX) {
                return Failure.of(Reason.MALFORMED, Optional.empty(), "not 'user SP 32 hex digits'");
            }
            byte[] given;
            try {
                given = HexFormat.of().parseHex(new String(response, space + 1, DIGEST_HEX, StandardCharsets.US_ASCII));
            } catch (IllegalArgumentException e) {
                return Failure.of(Reason.MALFORMED, Optional.empty(), "digest is not hex");
            }
            Optional<String> user = credentials.canonical(Arrays.copyOf(response, space));
            if (user.isEmpty()) {
                return Failure.of(Reason.INVALID_USER_NAME);
            }
            String name = user.get();
            Lookup found = credentials.lookup(name, deadline);
            if (found instanceof Lookup.UnknownUser) {
                return Failure.of(Reason.UNKNOWN_USER, name);
            }
            if (found instanceof Lookup.Unavailable) {
                return Failure.of(Reason.UNAVAILABLE, name);
            }
            if (!(found instanceof Lookup.Found f)) {
                return Failure.of(Reason.UNSUITABLE_ENTRY, user, "the credential store cannot hand out stored passwords");
            }
            PasswordHash stored = f.stored();
            Optional<CramMd5Secret> secret = stored.cramMd5();
            if (secret.isEmpty()) {
                return Failure.of(Reason.UNSUITABLE_ENTRY, user, "{" + stored.scheme() + "} is a one-way hash");
            }
            byte[] expected = secret.get().digest(challenge);
            try {
                if (!MessageDigest.isEqual(expected, given)) {
                    return Failure.of(Reason.WRONG_PASSWORD, name);
                }
                if (secret.get().emptyPassword()) {
                    return Failure.of(Reason.WRONG_PASSWORD, user, "the stored password is empty");
                }
                return new Step.Success(name);
            } finally {
                Arrays.fill(expected, (byte) 0);
            }
        }
    }

    /** What the challenge is made of, set up on first use: the host name ({@code localhost} when unknown). */
    private static final class Host {
        static final SecureRandom RANDOM = new SecureRandom();
        static final String NAME = read();

        private static String read() {
            try {
                String name = Files.readString(Path.of("/proc/sys/kernel/hostname"), StandardCharsets.US_ASCII).strip();
                if (!name.isEmpty() && name.length() <= 253 && name.matches("[A-Za-z0-9.-]+")) {
                    return name;
                }
            } catch (IOException | RuntimeException e) {
                // not Linux, or unreadable: the name is only decoration
            }
            return "localhost";
        }
    }
}
