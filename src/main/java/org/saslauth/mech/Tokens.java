package org.saslauth.mech;

import org.saslauth.Deadline;

/**
 * What OAUTHBEARER and XOAUTH2 ask of an issuer: whose is this bearer token, if anyone's. The
 * mechanisms parse the client's message; the checks of signature, issuer, audience, time and
 * scope live behind this interface ({@code org.saslauth.oauth}), whose classes load only when a
 * token is checked.
 */
public interface Tokens {

    /**
     * The verdict on {@code token} (the part after {@code Bearer }), by {@code deadline}: the
     * issuer's keys or its introspection endpoint may have to be asked first.
     */
    Verdict check(String token, Deadline deadline);

    /** The scope a client should ask for, named in the JSON error ({@code oauth2-required-scope}). */
    default java.util.Optional<String> scope() {
        return java.util.Optional.empty();
    }

    /** The issuer's discovery document, named in OAUTHBEARER's JSON error (RFC 7628 section 3.2.2). */
    default java.util.Optional<String> configuration() {
        return java.util.Optional.empty();
    }

    /** What a check decided. */
    sealed interface Verdict {

        /**
         * The token is good: {@code user} is its username claim, as the issuer wrote it;
         * {@code expires} its {@code exp} (seconds since the epoch), 0 when it has none.
         */
        record Valid(String user, long expires) implements Verdict {
            public Valid(String user) {
                this(user, 0);
            }
        }

        /**
         * The token is refused: expired, for another audience, signed by a key the issuer does
         * not have, not a token at all. {@code why} goes to the log, never to the client.
         */
        record Invalid(String why, boolean scope) implements Verdict {
            public Invalid(String why) {
                this(why, false);
            }
        }

        /** The issuer could not be asked in time, and nothing cached answers: a temporary failure. */
        record Unavailable(String why) implements Verdict {}
    }

    /** No issuer configured: every token is a temporary failure, so that none is ever an OK. */
    Tokens NONE = new Unconfigured();

    /** {@link #NONE}'s class. */
    final class Unconfigured implements Tokens {
        private Unconfigured() {}

        @Override
        public Verdict check(String token, Deadline deadline) {
            return new Verdict.Unavailable("no oauth2-issuer or oauth2-introspection-url configured");
        }
    }
}
