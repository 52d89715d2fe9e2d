package org.saslauth.mech;

import java.util.Optional;
import java.util.OptionalInt;

/** What one step of an {@link Exchange} decided. */
public sealed interface Step {

    /** Ask the client for more; {@code data} is sent base64-encoded (it may be empty). */
    record Challenge(byte[] data) implements Step {}

    /** The client is authenticated as {@code user}, the canonical name. */
    record Success(String user) implements Step {}

    /**
     * The attempt failed.
     *
     * @param user the canonical user name when the mechanism got that far
     * @param guess a short keyed digest of the password tried ({@link Credentials#guess}), so
     *     that the engine can tell a repeated guess from a new one without keeping the password
     * @param detail what the log adds to the reason (a scheme name, the attribute at fault);
     *     never a secret, never sent to the client
     */
    record Failure(Reason reason, Optional<String> user, OptionalInt guess, Optional<String> detail)
            implements Step {

        public Failure(Reason reason, Optional<String> user, OptionalInt guess) {
            this(reason, user, guess, Optional.empty());
        }

        public static Failure of(Reason reason) {
            return new Failure(reason, Optional.empty(), OptionalInt.empty());
        }

        public static Failure of(Reason reason, String user) {
            return new Failure(reason, Optional.of(user), OptionalInt.empty());
        }

        /** A failure whose log line says more than its reason. */
        public static Failure of(Reason reason, Optional<String> user, String detail) {
            return new Failure(reason, user, OptionalInt.empty(), Optional.of(detail));
        }

        /** The reason as the log gives it, with the detail. */
        public String logText() {
            return detail.map(d -> reason.logText() + ": " + d).orElse(reason.logText());
        }
    }

    /**
     * Why an attempt failed. {@link #clientText} goes to the client (Postfix turns it into the
     * 535 text) and never tells a wrong password from an unknown user; {@link #logText} goes to
     * the log and does.
     */
    enum Reason {
        WRONG_PASSWORD("Authentication failed", "wrong password"),
        UNKNOWN_USER("Authentication failed", "unknown user"),
        PASSWORD_HAS_NUL("Authentication failed", "password contains NUL"),
        PASSWORD_TOO_LONG("Authentication failed", "password longer than " + Credentials.MAX_PASSWORD_BYTES + " bytes"),
        INVALID_USER_NAME("Authentication failed", "invalid user name"),
        AUTHZID_REFUSED("Authorization as another user is not allowed", "authzid differs from authcid"),
        UNSUITABLE_ENTRY("Authentication failed", "stored password cannot serve this mechanism"),
        MALFORMED("Invalid authentication data", "malformed response"),
        /** OAUTHBEARER, XOAUTH2: the bearer token is expired, for someone else, or forged. */
        INVALID_TOKEN("Authentication failed", "invalid token"),
        MISSING_RESPONSE("Initial response required", "no initial response"),
        UNAVAILABLE("Temporary authentication failure", "credential store unavailable"),
        INTERNAL_ERROR("Temporary authentication failure", "internal error"),
        OVERLOADED("Temporary authentication failure", "server too busy: no worker free in time"),
        /** The client's address is banned: refused, whatever the password. */
        BANNED("Authentication failed", "address banned"),
        /** The user is protected and the address is of no network known for it: refused, whatever the password. */
        PROTECTED("Authentication failed", "user protected: address not known for the user"),
        /**
         * The password was right, but a rule of the store refuses it now; the detail says which
         * (an app password expired, revoked, from outside its networks or for another service).
         */
        REFUSED("Authentication failed", "refused");

        private final String clientText;
        private final String logText;

        Reason(String clientText, String logText) {
            this.clientText = clientText;
            this.logText = logText;
        }

        public String clientText() {
            return clientText;
        }

        public String logText() {
            return logText;
        }

        /** Whether a retry could succeed without a different password (Dovecot's {@code temp}). */
        public boolean temporary() {
            return this == UNAVAILABLE || this == INTERNAL_ERROR || this == OVERLOADED;
        }
    }
}
