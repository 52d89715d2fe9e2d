package org.saslauth.fuzz;

import java.util.Base64;
import java.util.List;
import java.util.regex.Pattern;

/** What a well-formed line from the server looks like. Failures are thrown as AssertionError. */
final class Wire {

    /** One reply line taken apart: OK, FAIL or CONT, its id, and its fields after the id. */
    record Reply(String kind, String id, List<String> params, String line) {

        String param(String key) {
            for (String p : params) {
                if (p.startsWith(key + "=")) {
                    return p.substring(key.length() + 1);
                }
            }
            return null;
        }
    }

    private static final Pattern SPID = Pattern.compile("SPID\t[0-9]+");
    private static final Pattern COOKIE = Pattern.compile("COOKIE\t[0-9a-f]{32}");

    private Wire() {}

    /** The flags of the mechanisms that are not {@code plaintext}, as Dovecot 2.3 announces them. */
    private static final java.util.Map<String, String> FLAGS = java.util.Map.of(
            "CRAM-MD5", "dictionary\tactive", "SCRAM-SHA-1", "mutual-auth", "SCRAM-SHA-256", "mutual-auth");

    /** The handshake: VERSION, one MECH per enabled mechanism in order, SPID, CUID, COOKIE, DONE. */
    static void checkHandshake(List<String> lines, List<String> mechanisms) {
        int n = mechanisms.size();
        check(lines.size() == n + 5, "handshake has " + lines.size() + " lines: " + lines);
        check(lines.get(0).equals("VERSION\t1\t2"), "handshake starts " + lines.get(0));
        for (int i = 0; i < n; i++) {
            check(lines.get(1 + i).equals("MECH\t" + mechanisms.get(i) + "\t" + FLAGS.getOrDefault(mechanisms.get(i), "plaintext")),
                    "MECH line " + lines.get(1 + i));
        }
        check(SPID.matcher(lines.get(n + 1)).matches(), "SPID line " + lines.get(n + 1));
        check(lines.get(n + 2).equals("CUID\t1"), "CUID line " + lines.get(n + 2));
        check(COOKIE.matcher(lines.get(n + 3)).matches(), "COOKIE line " + lines.get(n + 3));
        check(lines.get(n + 4).equals("DONE"), "handshake ends " + lines.get(n + 4));
    }

    static Reply parse(String line) {
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            check(c == '\t' || (c >= 0x20 && c != 0x7f), "raw control character " + (int) c + " in " + show(line));
        }
        String[] f = line.split("\t", -1);
        check(f.length >= 3, "too few fields: " + show(line));
        check(validId(f[1]), "bad id in " + show(line));
        List<String> params = List.of(f).subList(2, f.length);
        for (String p : params) {
            checkEscapes(p, line);
        }
        switch (f[0]) {
            case "OK" -> {
                check(f.length == 3 && f[2].startsWith("user=") && f[2].length() > 5, "bad OK: " + show(line));
            }
            case "CONT" -> {
                check(f.length == 3, "bad CONT: " + show(line));
                byte[] data;
                try {
                    data = Base64.getDecoder().decode(f[2]);
                } catch (IllegalArgumentException e) {
                    throw new AssertionError("CONT with invalid base64: " + show(line));
                }
                check(Base64.getEncoder().encodeToString(data).equals(f[2]), "CONT base64 not canonical: " + show(line));
            }
            case "FAIL" -> {
                int i = 2;
                if (f[i].startsWith("user=")) {
                    check(f[i].length() > 5, "empty user= in " + show(line));
                    i++;
                }
                check(i < f.length && f[i].startsWith("reason=") && f[i].length() > 7, "FAIL without reason: " + show(line));
                i++;
                if (i < f.length && f[i].equals("code=temp_fail")) {
                    i++;
                }
                check(i == f.length, "extra fields in FAIL: " + show(line));
            }
            default -> throw new AssertionError("not a reply: " + show(line));
        }
        return new Reply(f[0], f[1], params, line);
    }

    /** Dovecot's id: an unsigned 32-bit decimal number. */
    static boolean validId(String id) {
        if (id.isEmpty() || id.length() > 10 || !id.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return false;
        }
        return Long.parseLong(id) <= 0xFFFF_FFFFL;
    }

    private static void checkEscapes(String value, String line) {
        for (int i = 0; i < value.length(); i++) {
            if (value.charAt(i) == '\001') {
                check(i + 1 < value.length() && "1trn0".indexOf(value.charAt(i + 1)) >= 0,
                        "bad escape in " + show(line));
                i++;
            }
        }
    }

    static void check(boolean ok, String message) {
        if (!ok) {
            throw new AssertionError(message);
        }
    }

    static String show(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(300).forEach(c -> {
            if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\x%02x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.append(s.length() > 300 ? "..." : "").toString();
    }
}
