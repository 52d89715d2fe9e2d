package org.saslauth.fuzz;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Client lines, valid, broken and hostile, drawn from one seeded random source: the same seed
 * gives the same bytes.
 */
final class Inputs {

    static final String PASSWORD = new String(SessionModel.PASSWORD, StandardCharsets.US_ASCII);

    /** How {@link #rip} chooses addresses; the per-address penalty makes repeats cost seconds. */
    enum Rips {
        /** Hostile values as well as plain ones, repeated freely. */
        ANY,
        /** Empty or never seen before in the session, so that no address builds up a penalty. */
        DISTINCT,
        /** One address for the whole session. */
        SHARED
    }

    private static final byte[] HOSTILE_BYTES = {'\t', '\r', 0, 1, (byte) 0xff, (byte) 0xc3, (byte) 0xe2,
        (byte) 0x80, '='};

    private final SplittableRandom random;
    private final Rips rips;
    private int ripCount;

    Inputs(SplittableRandom random) {
        this(random, Rips.ANY);
    }

    Inputs(SplittableRandom random, Rips rips) {
        this.random = random;
        this.rips = rips;
    }

    // --- choices ------------------------------------------------------------------------------

    int between(int min, int max) {
        return min + random.nextInt(max - min + 1);
    }

    @SafeVarargs
    final <T> T oneOf(T... choices) {
        return choices[random.nextInt(choices.length)];
    }

    /** An index into {@code weights}, each chosen in proportion to its weight. */
    int weighted(int... weights) {
        int total = Arrays.stream(weights).sum();
        int x = random.nextInt(total);
        for (int i = 0; i < weights.length; i++) {
            x -= weights[i];
            if (x < 0) {
                return i;
            }
        }
        throw new IllegalStateException();
    }

    boolean oneIn(int n) {
        return random.nextInt(n) == 0;
    }

    byte[] bytes(int maxSize) {
        byte[] b = new byte[random.nextInt(maxSize + 1)];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) random.nextInt(256);
        }
        return b;
    }

    // --- fields -------------------------------------------------------------------------------

    String id() {
        return switch (weighted(8, 1, 1)) {
            case 0 -> String.valueOf(between(1, 5));
            case 1 -> oneOf("0", "007", "4294967295", "4294967296", "99999999999", "-1", "", "1a", " 1", "１", "1\0012");
            default -> String.valueOf(random.nextLong(0x1_0000_0000L));
        };
    }

    String mechanismName() {
        return oneIn(7)
                ? oneOf("plain", "Login", "oReOrE", "PLAIN ", "PLAıN", "LOGİN", "ｐlain", "CRAM-MD5", "XOAUTH2",
                        "ANONYMOUS", "", "PLAIN\0", "LOGIN\001t")
                : oneOf("PLAIN", "LOGIN", "OREORE", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256");
    }

    /** Decoded responses: the right and wrong credentials, names no one should get, noise. */
    byte[] payload() {
        return switch (weighted(5, 3, 3, 1, 1, 4)) {
            case 0 -> utf8(oneOf("", "alice", "root") + "\0" + user() + "\0" + password());
            case 1 -> utf8(user());
            case 2 -> utf8(password());
            case 3 -> bytes(40);
            case 4 -> utf8("alice\0alice\0" + PASSWORD + "\0");
            default -> utf8(challengeResponse());
        };
    }

    /** CRAM-MD5 and SCRAM messages: well-formed, or broken the ways the mechanisms must refuse. */
    private String challengeResponse() {
        String name = user().replace("=", "=3D").replace(",", "=2C");  // SCRAM's saslname
        return switch (weighted(3, 3, 2, 1)) {
            case 0 -> oneOf("alice", "alice", user()) + " "
                    + oneOf("0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef", "0123456789ABCDEF", "zz", "");
            case 1 -> oneOf("n,,", "y,,", "p=tls-unique,,", "n,a=alice,", "n,a=root,", "") + oneOf("", "m=x,")
                    + "n=" + oneOf("alice", name) + ",r=" + oneOf("abc", "", "a b", "x".repeat(300)) + oneOf("", ",x=1", ",=");
            case 2 -> "c=" + oneOf("biws", "eSws", "*") + ",r=" + oneOf("abc", "abcdef") + oneOf("", ",x=1")
                    + ",p=" + oneOf("AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "A".repeat(43) + "=", "!", "");
            default -> oneOf("v=x", "n,,n=alice", "c=biws,r=abc");
        };
    }

    private String user() {
        return oneOf("alice", "bob", "", "down", "root", "alice\tuser=root", "alice\nOK\t1\tuser=root", "al\rice",
                "al\001ice", "al\0ice", "ålice", "用户", "x".repeat(300), "é".repeat(128), "alice\u0085");
    }

    private String password() {
        return oneOf(PASSWORD, "wrong", "", PASSWORD + "x", "s3cret-pa55");
    }

    /** A base64 field: mostly right, sometimes broken in the ways clients and attackers break it. */
    String base64() {
        String good = Base64.getEncoder().encodeToString(payload());
        return switch (weighted(10, 2, 2, 1)) {
            case 0 -> good;
            case 1 -> good.replace("=", "");
            case 2 -> {
                int i = random.nextInt(good.length() + 1);
                yield good.substring(0, i) + oneOf("*", " ", "=", "-", "_", "\0", "é", "\001n", "\r") + good.substring(i);
            }
            default -> oneOf("", "=", "==", "===", "====", "A", "AB=", "A===", "QQ==QQ==");
        };
    }

    String rip() {
        return switch (rips) {
            case SHARED -> "203.0.113.9";
            case DISTINCT -> switch (weighted(2, 3, 2, 1)) {
                case 0 -> "";
                case 1 -> "198.51.100." + ++ripCount;
                case 2 -> "2001:db8::" + Integer.toHexString(++ripCount);
                default -> hostileRip() + ++ripCount;
            };
            default -> oneOf("192.0.2.1", "", "::1", "2001:db8::1", "not an address", hostileRip());
        };
    }

    private String hostileRip() {
        return oneOf("1.2.3.4\001nsaslauth[1] - auth ok: rip=6.6.6.6 mech=PLAIN user=\"root\"",
                "1.2.3.4\nINFO x", "\001", "\0010", "a\001tb");
    }

    /** The address of an exchange meant to succeed. */
    private String goodRip() {
        return rips == Rips.ANY ? "192.0.2.7" : rip();
    }

    // --- lines --------------------------------------------------------------------------------

    String authLine() {
        String id = id();
        String mech = mechanismName();
        List<String> all = new ArrayList<>();
        for (int n = random.nextInt(7); n > 0; n--) {
            all.add(oneOf("service=smtp", "nologin", "lip=127.0.0.1", "secured", "valid-client-cert", "protocol=smtp",
                    "resp", "resp==", "resp=", "user=root", ""));
        }
        if (random.nextBoolean()) {
            all.add("rip=" + rip());
        }
        List<String> resps = new ArrayList<>();
        for (int n = random.nextInt(3); n > 0; n--) {
            resps.add("resp=" + base64());
        }
        int where = random.nextInt(3);
        if (where == 0 || all.isEmpty()) {
            all.addAll(resps); // last, as it should be
        } else {
            all.addAll(where == 1 ? 0 : all.size() / 2, resps); // in odd places
        }
        StringBuilder line = new StringBuilder("AUTH\t").append(id).append('\t').append(mech);
        all.forEach(p -> line.append('\t').append(p));
        return line.toString();
    }

    String contLine() {
        String id = id();
        String data = base64();
        return switch (random.nextInt(10)) {
            case 0 -> "CONT\t" + id;
            case 1 -> "CONT\t" + id + "\t" + data + "\textra";
            case 2 -> "CONT";
            default -> "CONT\t" + id + "\t" + data;
        };
    }

    /**
     * Whole exchanges that can succeed, so that the OK paths are walked as often as the others;
     * and whole CRAM-MD5 and SCRAM exchanges for alice, which must fail, since their answers
     * cannot hold a proof made from the server's random challenge.
     */
    String exchange() {
        String i = String.valueOf(between(1, 5));
        String mech = oneOf("PLAIN", "plain", "LOGIN", "login");
        String pw = b64(PASSWORD);
        return switch (random.nextInt(8)) {
            case 6 -> "AUTH\t" + i + "\tCRAM-MD5\tservice=smtp\nCONT\t" + i + "\t"
                    + b64("alice " + oneOf("0123456789abcdef0123456789abcdef", PASSWORD));
            case 7 -> "AUTH\t" + i + "\t" + oneOf("SCRAM-SHA-1", "SCRAM-SHA-256") + "\tservice=smtp\tresp="
                    + b64("n,,n=alice,r=abc") + "\nCONT\t" + i + "\t" + b64("c=biws,r=abc,p=" + "A".repeat(43) + "=")
                    + "\nCONT\t" + i + "\t";
            case 0 -> "AUTH\t" + i + "\tPLAIN\tservice=smtp\tnologin\tlip=::1\trip=" + goodRip() + "\tresp="
                    + b64("\0alice\0" + PASSWORD);
            case 1 -> "AUTH\t" + i + "\t" + mech + "\tservice=smtp\nCONT\t" + i + "\t" + b64("alice\0alice\0" + PASSWORD);
            case 2 -> "AUTH\t" + i + "\tLOGIN\tservice=smtp\tresp=" + b64("alice") + "\nCONT\t" + i + "\t" + pw;
            case 3 -> "AUTH\t" + i + "\tLOGIN\tservice=smtp\nCONT\t" + i + "\t" + b64("alice") + "\nCONT\t" + i + "\t" + pw;
            case 4 -> "AUTH\t" + i + "\tOREORE\tservice=smtp\tresp=" + b64("alice");
            default -> "AUTH\t" + i + "\t" + mech + "\tservice=smtp\tresp=" + b64("alice\0alice\0" + PASSWORD);
        };
    }

    /** A line near or over the 16384-byte limit, with or without a CR before its end. */
    byte[] hugeLine() {
        String prefix = switch (random.nextInt(5)) {
            case 0 -> "AUTH\t" + id() + "\tPLAIN\tresp=";
            case 1 -> "CONT\t" + id() + "\t";
            case 2 -> "AUTH\t" + id() + "\t";
            case 3 -> "";
            default -> "AUTH\t1\tLOGIN\tservice=smtp\trip=1.2.3.4\tlip=5.6.7.8\tsecured\tnologin\tmore";
        };
        int total = weighted(3, 2) == 0 ? between(16382, 16387) : between(16388, 70000);
        String fill = oneOf("A", "é", "\t", "\r", "QUFB");
        StringBuilder b = new StringBuilder(total + 8).append(prefix);
        while (b.length() < total) {
            b.append(fill);
        }
        return utf8(b + oneOf("", "\r"));
    }

    byte[] noiseLine() {
        byte[] b = new byte[random.nextInt(61)];
        for (int i = 0; i < b.length; i++) {
            b[i] = switch (weighted(4, 3, 3)) {
                case 0 -> (byte) random.nextInt(256);
                case 1 -> HOSTILE_BYTES[random.nextInt(HOSTILE_BYTES.length)];
                default -> (byte) between('0', 'z');
            };
        }
        return b;
    }

    String oddLine() {
        return oneOf("", "\r", "VERSION\t1\t0", "VERSION\t1\t9", "CPID", "CPID\t", "CPID\t\001n",
                "AUTH", "AUTH\t", "AUTH\t1", "AUTH\t1\t", "CONT\t", "CONT\t1\t", "AUTH\t2\tPLAIN\r\tresp=",
                "auth\t1\tPLAIN", "OK\t1\tuser=root", "DONE", "\0", "AUTH\0\t1\tPLAIN");
    }

    /**
     * A line mutated: a bit flipped, a byte (a TAB among others) inserted or deleted, the tail
     * cut, or a field repeated or dropped.
     */
    byte[] mutated(String line) {
        byte[] s = utf8(line);
        int i = s.length == 0 ? 0 : random.nextInt(s.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        switch (random.nextInt(6)) {
            case 0 -> {
                out.writeBytes(s);
                byte[] t = out.toByteArray();
                if (t.length > 0) {
                    t[i] ^= (byte) (1 << random.nextInt(8));
                }
                return t;
            }
            case 1 -> {
                out.write(s, 0, i);
                out.write(oneIn(3) ? '\t' : oneOf((byte) '\r', (byte) 0, (byte) 1, (byte) 0xff, (byte) '=', (byte) '\n'));
                out.write(s, i, s.length - i);
            }
            case 2 -> {
                out.write(s, 0, i);
                if (i < s.length) {
                    out.write(s, i + 1, s.length - i - 1);
                }
            }
            case 3 -> out.write(s, 0, i);
            default -> {
                List<String> fields = new ArrayList<>(List.of(line.split("\t", -1)));
                int f = random.nextInt(fields.size());
                if (random.nextBoolean()) {
                    fields.add(random.nextInt(fields.size() + 1), fields.get(f));
                } else {
                    fields.remove(f);
                }
                return utf8(String.join("\t", fields));
            }
        }
        return out.toByteArray();
    }

    /** One line as bytes, without its end. */
    byte[] line(boolean huge) {
        if (huge && oneIn(31)) {
            return hugeLine();
        }
        return switch (weighted(8, 6, 6, 2, 2, 3)) {
            case 0 -> utf8(authLine());
            case 1 -> utf8(contLine());
            case 2 -> utf8(exchange());
            case 3 -> utf8(oddLine());
            case 4 -> noiseLine();
            default -> mutated(switch (random.nextInt(3)) {
                case 0 -> authLine();
                case 1 -> contLine();
                default -> exchange();
            });
        };
    }

    String ending() {
        return oneIn(13) ? oneOf("\r\n", "\r\r\n", "\n\n", "\r") : "\n";
    }

    String handshake() {
        return oneIn(13)
                ? oneOf("", "CPID\t1\n", "VERSION\t1\t1\r\nCPID\t9\r\n", "VERSION\t2\t0\nCPID\t1\n", "VERSION\n",
                        "VERSION\t1\n", "VERSION\t\001\n")
                : "VERSION\t1\t0\nCPID\t4242\n";
    }

    /** A session: handshake, then up to {@code maxLines} lines, each ended; the last sometimes not. */
    byte[] session(int maxLines, boolean huge) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(utf8(handshake()));
        for (int n = random.nextInt(maxLines + 1); n > 0; n--) {
            out.writeBytes(line(huge));
            out.writeBytes(utf8(ending()));
        }
        if (random.nextInt(4) == 0) {
            out.writeBytes(line(false));
        }
        return out.toByteArray();
    }

    /** The handshake, then raw bytes or lines of noise. */
    byte[] noiseSession() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(utf8(handshake()));
        if (weighted(3, 2) == 0) {
            out.writeBytes(bytes(3000));
        } else {
            for (int n = random.nextInt(41); n > 0; n--) {
                out.writeBytes(noiseLine());
                out.write('\n');
            }
        }
        return out.toByteArray();
    }

    /**
     * Three PLAIN attempts from one address, mostly failing, around other lines: the third
     * failure from an address waits the penalty's first second.
     */
    byte[] repeatedFailures() {
        StringBuilder b = new StringBuilder("VERSION\t1\t0\nCPID\t1\n");
        for (int i = 1; i <= 3; i++) {
            b.append("AUTH\t").append(i).append("\tPLAIN\tservice=smtp\trip=").append(rip()).append("\tresp=")
                    .append(Base64.getEncoder().encodeToString(payload())).append('\n');
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(utf8(b.toString()));
        for (int n = random.nextInt(3); n > 0; n--) {
            out.writeBytes(line(false));
            out.write('\n');
        }
        return out.toByteArray();
    }

    /** Thousands of exchanges started and few finished, ids repeated as often as {@code idSpace} makes them. */
    byte[] flood(int count, int idSpace) {
        StringBuilder b = new StringBuilder("VERSION\t1\t0\nCPID\t1\n");
        for (int i = 0; i < count; i++) {
            int id = random.nextInt(idSpace);
            switch (random.nextInt(6)) {
                case 0 -> b.append("CONT\t").append(id).append("\tYWxpY2U=\n");
                case 1 -> b.append("AUTH\t").append(id).append("\tPLAIN\tresp=")
                        .append(b64("\0alice\0" + PASSWORD)).append('\n');
                default -> b.append("AUTH\t").append(id).append("\tLOGIN\tservice=smtp\n");
            }
        }
        return utf8(b.toString());
    }

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
