package org.saslauth.mech;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import org.saslauth.Deadline;
import org.saslauth.mech.Step.Failure;
import org.saslauth.mech.Step.Reason;

/**
 * OAUTHBEARER (RFC 7628) and Google's XOAUTH2: a bearer token from an OpenID issuer instead of
 * a password.
 *
 * <pre>
 * client ----- AUTH OAUTHBEARER [n,a=user,^Aauth=Bearer TOKEN^A^A] -----> server
 * client ----- AUTH XOAUTH2 [user=USER^Aauth=Bearer TOKEN^A^A] ---------> server
 * client <---- OK user=USER ---------------------------------------------- server
 *   or, for a token refused:
 * client <---- CONT {"status":"invalid_token",...} (JSON, base64) ------- server
 * client ----- ^A (OAUTHBEARER) or an empty response (XOAUTH2) ----------> server
 * client <---- FAIL ------------------------------------------------------ server
 * </pre>
 *
 * The user named in the message (the GS2 header's {@code a=}, XOAUTH2's {@code user=}) must be
 * the token's user, else the login fails; OAUTHBEARER without {@code a=} logs in as the token's
 * user. A refused token is answered with the JSON error first and the FAIL only after the
 * client's answer, as RFC 7628 section 3.2.2 has it; Dovecot does the same. Announced with
 * {@code plaintext}, as Dovecot does: the token is as good as a password to whoever reads it.
 */
public final class BearerTokenMechanism implements Mechanism {

    /** The two mechanisms: the same exchange, each its own message and JSON error. */
    public enum Dialect {
        /** RFC 7628: a GS2 header, then key=value pairs. */
        OAUTHBEARER,
        /** Google's: {@code user=}, then {@code auth=}, each ending in \x01, then a last \x01. */
        XOAUTH2
    }

    /** The user named and the token of a client's message, or what is wrong with it. */
    private Parsed parse(byte[] message) {
        return dialect == Dialect.OAUTHBEARER ? oauthBearer(message) : xoauth2(message);
    }

    /** The JSON error sent as the challenge before the FAIL. */
    private String error(ErrorKind kind, Optional<String> scope, Optional<String> configuration) {
        return dialect == Dialect.OAUTHBEARER ? oauthBearerError(kind, scope, configuration)
                : xoauth2Error(kind, scope);
    }

    private static Parsed oauthBearer(byte[] message) {
        int kv = indexOf(message, (byte) 1, 0);
        if (kv < 0) {
            return Parsed.malformed("no \\x01 after the GS2 header");
        }
        String header = new String(message, 0, kv, StandardCharsets.UTF_8);
        // gs2-header = gs2-cb-flag "," [ authzid ] ","
        if (header.startsWith("p=")) {
            return Parsed.malformed("channel binding requested, which is not offered");
        }
        if (!(header.startsWith("n,") || header.startsWith("y,")) || !header.endsWith(",")) {
            return Parsed.malformed("invalid GS2 header");
        }
        String authzid = header.substring(2, header.length() - 1);
        Optional<byte[]> user = Optional.empty();
        if (!authzid.isEmpty()) {
            if (!authzid.startsWith("a=")) {
                return Parsed.malformed("invalid GS2 header");
            }
            String name = unescapeSaslName(authzid.substring(2));
            if (name == null) {
                return Parsed.malformed("invalid authzid escaping");
            }
            user = Optional.of(name.getBytes(StandardCharsets.UTF_8));
        }
        return pairs(message, kv + 1, user);
    }

    private static String oauthBearerError(ErrorKind kind, Optional<String> scope, Optional<String> configuration) {
        StringBuilder json = new StringBuilder("{\"status\":\"").append(switch (kind) {
            case MALFORMED -> "invalid_request";
            case SCOPE -> "insufficient_scope";
            case TEMPORARY -> "internal_failure";
            default -> "invalid_token";
        }).append('"');
        scope.ifPresent(s -> json.append(",\"scope\":\"").append(jsonEscape(s)).append('"'));
        configuration.ifPresent(c -> json.append(",\"openid-configuration\":\"").append(jsonEscape(c)).append('"'));
        return json.append('}').toString();
    }

    private static Parsed xoauth2(byte[] message) {
        Optional<byte[]> user = Optional.empty();
        int at = 0;
        if (startsWith(message, 0, "user=")) {
            int end = indexOf(message, (byte) 1, 0);
            if (end < 0) {
                return Parsed.malformed("no \\x01 after user=");
            }
            user = Optional.of(Arrays.copyOfRange(message, 5, end));
            at = end + 1;
        }
        Parsed p = pairs(message, at, user);
        if (p.problem().isEmpty() && user.isEmpty()) {
            return Parsed.malformed("no user=");
        }
        return p;
    }

    private static String xoauth2Error(ErrorKind kind, Optional<String> scope) {
        StringBuilder json = new StringBuilder("{\"status\":\"").append(switch (kind) {
            case MALFORMED -> "400";
            case SCOPE -> "403";
            case TEMPORARY -> "500";
            default -> "401";
        }).append("\",\"schemes\":\"bearer\"");
        scope.ifPresent(s -> json.append(",\"scope\":\"").append(jsonEscape(s)).append('"'));
        return json.append('}').toString();
    }

    /** What kind of error the JSON tells. */
    enum ErrorKind {
        MALFORMED, INVALID, SCOPE, TEMPORARY
    }

    /** A client's message, read: the user it names, the token, or what is wrong. */
    record Parsed(Optional<byte[]> user, String token, Optional<String> problem) {
        static Parsed malformed(String problem) {
            return new Parsed(Optional.empty(), "", Optional.of(problem));
        }
    }

    private final Dialect dialect;

    public BearerTokenMechanism(Dialect dialect) {
        this.dialect = dialect;
    }

    @Override
    public String name() {
        return dialect.name();
    }

    @Override
    public Set<Flag> flags() {
        return Set.of(Flag.PLAINTEXT);
    }

    @Override
    public Need needs() {
        return Need.TOKEN;
    }

    @Override
    public Exchange newExchange(Credentials credentials) {
        return new Exchange() {
            /** The FAIL that follows the JSON error, once the client has answered it. */
            private Failure refused;

            @Override
            public Step start(Optional<byte[]> initialResponse, Deadline deadline) {
                return initialResponse.map(r -> next(r, deadline)).orElseGet(() -> new Step.Challenge(new byte[0]));
            }

            @Override
            public Step next(byte[] message, Deadline deadline) {
                if (refused != null) { // the client's answer to the error: \x01, or anything
                    return refused;
                }
                Parsed parsed = parse(message);
                Arrays.fill(message, (byte) 0);
                Step result = parsed.problem().isPresent()
                        ? Failure.of(Reason.MALFORMED, Optional.empty(), parsed.problem().get())
                        : credentials.checkToken(parsed.user(), parsed.token(), deadline);
                if (result instanceof Failure f) {
                    refused = f;
                    ErrorKind v = switch (f.reason()) {
                        case MALFORMED, INVALID_USER_NAME -> ErrorKind.MALFORMED;
                        case UNAVAILABLE, INTERNAL_ERROR, OVERLOADED -> ErrorKind.TEMPORARY;
                        default -> f.detail().filter(d -> d.startsWith("scope")).isPresent() ? ErrorKind.SCOPE : ErrorKind.INVALID;
                    };
                    return new Step.Challenge(error(v, credentials.tokenScope(), credentials.tokenConfiguration())
                            .getBytes(StandardCharsets.UTF_8));
                }
                return result;
            }
        };
    }

    /**
     * The key=value pairs from {@code from} on, each ending in \x01, the last one empty; the
     * {@code auth} pair's {@code Bearer} token (RFC 6750's b64token). Other keys ({@code host},
     * {@code port}) are passed over.
     */
    static Parsed pairs(byte[] message, int from, Optional<byte[]> user) {
        String token = null;
        int at = from;
        while (true) {
            int end = indexOf(message, (byte) 1, at);
            if (end < 0) {
                return Parsed.malformed("a key=value pair does not end in \\x01");
            }
            if (end == at) { // the empty pair that ends the message
                if (end != message.length - 1) {
                    return Parsed.malformed("data after the final \\x01");
                }
                break;
            }
            if (startsWith(message, at, "auth=")) {
                int value = at + 5;
                if (end - value < 8 || !bearer(message, value)) {
                    return Parsed.malformed("auth= is not a Bearer token");
                }
                if (!b64token(message, value + 7, end)) {
                    return Parsed.malformed("the token holds characters a bearer token cannot");
                }
                token = new String(message, value + 7, end - value - 7, StandardCharsets.ISO_8859_1);
            }
            at = end + 1;
        }
        if (token == null) {
            return Parsed.malformed("no auth=Bearer token");
        }
        return new Parsed(user, token, Optional.empty());
    }

    /** The bytes RFC 6750's b64token is made of before its padding. */
    private static final boolean[] B64TOKEN = new boolean[128];

    static {
        for (char c = 'A'; c <= 'Z'; c++) {
            B64TOKEN[c] = true;
            B64TOKEN[c + 32] = true;
        }
        for (char c = '0'; c <= '9'; c++) {
            B64TOKEN[c] = true;
        }
        for (char c : "-._~+/".toCharArray()) {
            B64TOKEN[c] = true;
        }
    }

    /** {@code Bearer } at {@code at}, the scheme in any case (RFC 7235). */
    private static boolean bearer(byte[] b, int at) {
        String scheme = "bearer";
        for (int i = 0; i < 6; i++) {
            if ((b[at + i] | 0x20) != scheme.charAt(i)) {
                return false;
            }
        }
        return b[at + 6] == ' ';
    }

    /** RFC 6750: {@code b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="}, bytes from..to. */
    static boolean b64token(byte[] t, int from, int to) {
        int i = from;
        while (i < to && t[i] >= 0 && B64TOKEN[t[i]]) {
            i++;
        }
        if (i == from) {
            return false;
        }
        while (i < to && t[i] == '=') {
            i++;
        }
        return i == to;
    }

    /** RFC 5801's saslname: {@code =2C} is a comma, {@code =3D} an equals sign, and nothing else escaped. */
    static String unescapeSaslName(String in) {
        StringBuilder out = new StringBuilder(in.length());
        for (int i = 0; i < in.length(); i++) {
            char c = in.charAt(i);
            if (c == ',') {
                return null;
            }
            if (c == '=') {
                if (in.startsWith("=2C", i)) {
                    out.append(',');
                } else if (in.startsWith("=3D", i)) {
                    out.append('=');
                } else {
                    return null;
                }
                i += 2;
            } else {
                out.append(c);
            }
        }
        return out.isEmpty() ? null : out.toString();
    }

    private static int indexOf(byte[] b, byte x, int from) {
        for (int i = from; i < b.length; i++) {
            if (b[i] == x) {
                return i;
            }
        }
        return -1;
    }

    private static boolean startsWith(byte[] b, int at, String ascii) {
        if (b.length - at < ascii.length()) {
            return false;
        }
        for (int i = 0; i < ascii.length(); i++) {
            if (b[at + i] != ascii.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    static String jsonEscape(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
