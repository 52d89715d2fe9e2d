package org.saslauth.protocol;

import java.util.Optional;

/**
 * A line from the client, parsed: the engine's view of the wire, so that nothing after parsing
 * reads fields by position. {@link #parse} reads an auth client's lines, {@link #parseMaster}
 * those of an auth-master (userdb) client.
 *
 * <pre>
 * VERSION major minor
 * CPID pid
 * AUTH id MECH param... [resp=base64]
 * CONT id base64
 * USER id name param...         (auth-master only)
 * </pre>
 */
sealed interface Request {

    /** {@code VERSION}: only the major version matters. */
    record Version(String major) implements Request {}

    /** {@code CPID}: the client's process id, for the log only. */
    record Cpid(String pid) implements Request {}

    /**
     * {@code AUTH}: a new exchange.
     *
     * @param rip the client's address, unescaped; empty when not sent
     * @param response the initial response as sent (base64), absent without {@code resp}
     * @param service {@code service=} (or Dovecot 2.4's {@code protocol=}), unescaped and lower
     *     case: {@code smtp} from Postfix; empty when not sent
     */
    record Auth(String id, String mechanism, String rip, Optional<String> response, String service)
            implements Request {
        Auth(String id, String mechanism, String rip, Optional<String> response) {
            this(id, mechanism, rip, response, "");
        }
    }

    /** {@code CONT}: the client's answer to a challenge, base64 as sent. */
    record Cont(String id, String response) implements Request {}

    /**
     * An {@code AUTH} or {@code CONT} that cannot be served.
     *
     * @param id the request's id when it has a valid one, which then gets a FAIL
     * @param what what is wrong, for the log
     */
    record Malformed(Optional<String> id, String what, int idLength) implements Request {}

    /** Any other line: only its first word, when it is one, and its length reach the log. */
    record Unknown(String command, int length) implements Request {}

    /** {@code USER} on the auth-master socket: does this user exist? The name is unescaped. */
    record User(String id, String name) implements Request {}

    /** An auth-master command that is not served, with a valid id to answer FAIL to. */
    record Unserved(String command, String id) implements Request {}

    /** Parses one line (without its LF). */
    static Request parse(String line) {
        int tab = line.indexOf('\t');
        String command = tab < 0 ? line : line.substring(0, tab);
        switch (command) {
            case "AUTH": {
                String[] f = line.split("\t", -1);
                if (f.length < 2 || !validId(f[1])) {
                    return new Request.Malformed(Optional.empty(), "AUTH with an invalid id",
                            f.length < 2 ? 0 : f[1].length());
                }
                if (f.length < 3) {
                    return new Request.Malformed(Optional.of(f[1]), "AUTH without mechanism", f[1].length());
                }
                String rip = "";
                String resp = null;
                String service = "";
                for (int i = 3; i < f.length; i++) {
                    String p = f[i];
                    if (p.startsWith("rip=")) {
                        rip = Escaping.unescape(p.substring(4));
                    } else if (p.startsWith("resp=")) {
                        resp = p.substring(5);
                    } else if (p.startsWith("service=")) {
                        service = Escaping.unescape(p.substring(8)).toLowerCase(java.util.Locale.ROOT);
                    } else if (p.startsWith("protocol=") && service.isEmpty()) {
                        service = Escaping.unescape(p.substring(9)).toLowerCase(java.util.Locale.ROOT);
                    }
                }
                return new Request.Auth(f[1], f[2], rip, Optional.ofNullable(resp), service);
            }
            case "CONT": {
                String[] f = line.split("\t", -1);
                if (f.length < 2 || !validId(f[1])) {
                    return new Request.Malformed(Optional.empty(), "CONT with an invalid id",
                            f.length < 2 ? 0 : f[1].length());
                }
                return new Request.Cont(f[1], f.length > 2 ? f[2] : "");
            }
            case "VERSION": {
                String[] f = line.split("\t", 3);
                return new Request.Version(f.length < 2 ? "" : f[1]);
            }
            case "CPID":
                return new Request.Cpid(tab < 0 ? "" : line.substring(tab + 1));
            default:
                return new Request.Unknown(command, line.length());
        }
    }

    /**
     * Parses one line (without its LF) of an auth-master client, as {@code doveadm user} and
     * chasquid send them: {@code VERSION}, {@code USER}; {@code CPID} parses so that an auth
     * client on the wrong socket can be told.
     */
    static Request parseMaster(String line) {
        int tab = line.indexOf('\t');
        String command = tab < 0 ? line : line.substring(0, tab);
        switch (command) {
            case "USER": {
                String[] f = line.split("\t", -1);
                if (f.length < 2 || !validId(f[1])) {
                    return new Request.Malformed(Optional.empty(), "USER with an invalid id",
                            f.length < 2 ? 0 : f[1].length());
                }
                if (f.length < 3) {
                    return new Request.Malformed(Optional.of(f[1]), "USER without a name", f[1].length());
                }
                return new Request.User(f[1], Escaping.unescape(f[2]));
            }
            case "VERSION":
            case "CPID":
                return parse(line);
            default: {
                String[] f = line.split("\t", 3);
                if (!command.isEmpty() && f.length > 1 && validId(f[1])) {
                    return new Request.Unserved(command, f[1]);
                }
                return new Request.Unknown(command, line.length());
            }
        }
    }

    /**
     * The one rule for a request id, on the auth and the auth-master sockets alike: an unsigned
     * 32-bit decimal number, as Dovecot's {@code str_to_uint} reads it (digits only, no sign, no
     * space; leading zeros allowed, and echoed as sent).
     */
    static boolean validId(String id) {
        int n = id.length();
        if (n == 0 || n > 10) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = id.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return n < 10 || Long.parseLong(id) <= 0xFFFF_FFFFL;
    }
}
