package org.saslauth.penalty;

/**
 * {@code --penalty-store redis://HOST[:PORT][/DB]} or {@code rediss://...} (TLS, with Java's
 * trusted certificates). The password is never part of the URL: it comes from
 * {@code --penalty-store-password-file}, so that it shows in no process list nor log.
 */
public record RedisTarget(String host, int port, int database, boolean tls) {

    public static final int PORT = 6379;

    /** @throws IllegalArgumentException saying what is wrong */
    public static RedisTarget parse(String url) {
        boolean tls;
        String rest;
        if (url.indexOf('@') >= 0) { // said before anything that would repeat the URL
            throw new IllegalArgumentException("no password in the URL: put it in penalty-store-password-file");
        }
        if (url.startsWith("redis://")) {
            tls = false;
            rest = url.substring("redis://".length());
        } else if (url.startsWith("rediss://")) {
            tls = true;
            rest = url.substring("rediss://".length());
        } else {
            throw new IllegalArgumentException("'" + url + "' is not memory, redis://HOST:PORT[/DB] or rediss://HOST:PORT[/DB]");
        }
        int database = 0;
        int slash = rest.indexOf('/');
        if (slash >= 0) {
            String db = rest.substring(slash + 1);
            rest = rest.substring(0, slash);
            if (!db.isEmpty()) {
                database = number(db, 0, 10_000, "database");
            }
        }
        String host = rest;
        int port = PORT;
        int colon = rest.lastIndexOf(':');
        if (rest.startsWith("[")) {
            int close = rest.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException("'" + url + "': unclosed [ in the host");
            }
            host = rest.substring(1, close);
            if (close + 1 < rest.length()) {
                if (rest.charAt(close + 1) != ':') {
                    throw new IllegalArgumentException("'" + url + "': expected :PORT after ]");
                }
                port = number(rest.substring(close + 2), 1, 65535, "port");
            }
        } else if (colon >= 0) {
            host = rest.substring(0, colon);
            port = number(rest.substring(colon + 1), 1, 65535, "port");
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException("'" + url + "': no host");
        }
        return new RedisTarget(host, port, database, tls);
    }

    private static int number(String s, int min, int max, String what) {
        try {
            int n = Integer.parseInt(s);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new IllegalArgumentException("'" + s + "' is not a " + what + " (" + min + "-" + max + ")");
    }

    @Override
    public String toString() {
        String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        return (tls ? "rediss://" : "redis://") + h + ":" + port + "/" + database;
    }
}
