package org.saslauth.fuzz;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

/** Client lines, valid, broken and hostile, as jqwik arbitraries of bytes. */
final class Inputs {

    private Inputs() {}

    static final String PASSWORD = new String(SessionModel.PASSWORD, StandardCharsets.US_ASCII);

    static Arbitrary<String> ids() {
        return Arbitraries.frequencyOf(
                weight(8, Arbitraries.integers().between(1, 5).map(String::valueOf)),
                weight(1, Arbitraries.of("0", "007", "4294967295", "4294967296", "99999999999", "-1", "", "1a", " 1", "１",
                        "1\0012")),
                weight(1, Arbitraries.longs().between(0, 0xFFFF_FFFFL).map(String::valueOf)));
    }

    static Arbitrary<String> mechanismNames() {
        return Arbitraries.frequencyOf(
                weight(6, Arbitraries.of("PLAIN", "LOGIN", "OREORE")),
                weight(1, Arbitraries.of("plain", "Login", "oReOrE", "PLAIN ", "PLAıN", "LOGİN", "CRAM-MD5", "XOAUTH2",
                        "ANONYMOUS", "", "PLAIN\0", "LOGIN\001t")));
    }

    /** Decoded responses: the right and wrong credentials, names no one should get, noise. */
    static Arbitrary<byte[]> payloads() {
        Arbitrary<String> users = Arbitraries.of("alice", "bob", "", "down", "root", "alice\tuser=root",
                "alice\nOK\t1\tuser=root", "al\rice", "al\001ice", "al\0ice", "ålice", "用户", "x".repeat(300),
                "é".repeat(128), "alice\u0085");
        Arbitrary<String> passwords = Arbitraries.of(PASSWORD, "wrong", "", PASSWORD + "x", "s3cret-pa55");
        Arbitrary<byte[]> plain = Combinators.combine(Arbitraries.of("", "alice", "root"), users, passwords)
                .as((z, u, p) -> (z + "\0" + u + "\0" + p).getBytes(StandardCharsets.UTF_8));
        return Arbitraries.frequencyOf(
                weight(5, plain),
                weight(3, users.map(u -> u.getBytes(StandardCharsets.UTF_8))),
                weight(3, passwords.map(p -> p.getBytes(StandardCharsets.UTF_8))),
                weight(1, Arbitraries.bytes().array(byte[].class).ofMaxSize(40)),
                weight(1, Arbitraries.just(("alice\0alice\0" + PASSWORD + "\0").getBytes(StandardCharsets.UTF_8))));
    }

    /** A base64 field: mostly right, sometimes broken in the ways clients and attackers break it. */
    static Arbitrary<String> base64() {
        Arbitrary<String> good = payloads().map(b -> Base64.getEncoder().encodeToString(b));
        return Arbitraries.frequencyOf(
                weight(10, good),
                weight(2, good.map(s -> s.replace("=", ""))),
                weight(2, Combinators.combine(good, Arbitraries.of("*", " ", "=", "-", "_", "\0", "é", "\001n", "\r"),
                        Arbitraries.integers().between(0, 100)).as((s, c, at) -> {
                            int i = s.isEmpty() ? 0 : at % (s.length() + 1);
                            return s.substring(0, i) + c + s.substring(i);
                        })),
                weight(1, Arbitraries.of("", "=", "==", "===", "====", "A", "AB=", "A===", "QQ==QQ==")));
    }

    static Arbitrary<String> rips() {
        return Arbitraries.of("192.0.2.1", "", "::1", "2001:db8::1", "not an address",
                "1.2.3.4\001nsaslauth[1] - auth ok: rip=6.6.6.6 mech=PLAIN user=\"root\"",
                "1.2.3.4\nINFO x", "\001", "\0010", "a\001tb");
    }

    static Arbitrary<String> authLines() {
        Arbitrary<List<String>> params = Arbitraries.of("service=smtp", "nologin", "lip=127.0.0.1", "secured",
                "valid-client-cert", "protocol=smtp", "resp", "resp==", "resp=", "user=root", "")
                .list().ofMaxSize(6);
        Arbitrary<List<String>> ripParams = rips().map(r -> List.of("rip=" + r)).list().ofMaxSize(1)
                .map(l -> l.isEmpty() ? List.<String>of() : l.get(0));
        Arbitrary<List<String>> resps = base64().map(b -> "resp=" + b).list().ofMaxSize(2);
        return Combinators.combine(ids(), mechanismNames(), params, ripParams, resps, Arbitraries.integers().between(0, 2))
                .as((id, mech, ps, rip, rs, where) -> {
                    List<String> all = new ArrayList<>(ps);
                    all.addAll(rip);
                    if (where == 0 || all.isEmpty()) {
                        all.addAll(rs); // last, as it should be
                    } else {
                        all.addAll(where == 1 ? 0 : all.size() / 2, rs); // in odd places
                    }
                    StringBuilder line = new StringBuilder("AUTH\t").append(id).append('\t').append(mech);
                    all.forEach(p -> line.append('\t').append(p));
                    return line.toString();
                });
    }

    static Arbitrary<String> contLines() {
        return Combinators.combine(ids(), base64(), Arbitraries.integers().between(0, 9))
                .as((id, data, shape) -> switch (shape) {
                    case 0 -> "CONT\t" + id;
                    case 1 -> "CONT\t" + id + "\t" + data + "\textra";
                    case 2 -> "CONT";
                    default -> "CONT\t" + id + "\t" + data;
                });
    }

    /** Whole exchanges that can succeed, so that the OK paths are walked as often as the others. */
    static Arbitrary<String> exchanges() {
        Arbitrary<String> id = Arbitraries.integers().between(1, 5).map(String::valueOf);
        String b64pw = b64(PASSWORD);
        return Combinators.combine(id, Arbitraries.integers().between(0, 5), Arbitraries.of("PLAIN", "plain", "LOGIN", "login"))
                .as((i, kind, mech) -> switch (kind) {
                    case 0 -> "AUTH\t" + i + "\tPLAIN\tservice=smtp\tnologin\tlip=::1\trip=192.0.2.7\tresp="
                            + b64("\0alice\0" + PASSWORD);
                    case 1 -> "AUTH\t" + i + "\t" + mech + "\tservice=smtp\nCONT\t" + i + "\t"
                            + b64("alice\0alice\0" + PASSWORD);
                    case 2 -> "AUTH\t" + i + "\tLOGIN\tservice=smtp\tresp=" + b64("alice") + "\nCONT\t" + i + "\t" + b64pw;
                    case 3 -> "AUTH\t" + i + "\tLOGIN\tservice=smtp\nCONT\t" + i + "\t" + b64("alice") + "\nCONT\t" + i + "\t" + b64pw;
                    case 4 -> "AUTH\t" + i + "\tOREORE\tservice=smtp\tresp=" + b64("alice");
                    default -> "AUTH\t" + i + "\t" + mech + "\tservice=smtp\tresp=" + b64("alice\0alice\0" + PASSWORD);
                });
    }

    static Arbitrary<byte[]> hugeLines() {
        Arbitrary<String> prefix = Arbitraries.oneOf(ids().map(i -> "AUTH\t" + i + "\tPLAIN\tresp="),
                ids().map(i -> "CONT\t" + i + "\t"), ids().map(i -> "AUTH\t" + i + "\t"), Arbitraries.just(""),
                Arbitraries.just("AUTH\t1\tLOGIN\tservice=smtp\trip=1.2.3.4\tlip=5.6.7.8\tsecured\tnologin\tmore"));
        Arbitrary<Integer> total = Arbitraries.frequencyOf(
                weight(3, Arbitraries.integers().between(16382, 16387)),
                weight(2, Arbitraries.integers().between(16388, 70000)));
        return Combinators.combine(prefix, total, Arbitraries.of("A", "é", "\t", "\r", "QUFB"),
                        Arbitraries.of("", "\r"))
                .as((p, n, fill, cr) -> {
                    StringBuilder b = new StringBuilder(n + 8).append(p);
                    while (b.length() < n) {
                        b.append(fill);
                    }
                    return (b + cr).getBytes(StandardCharsets.UTF_8);
                });
    }

    static Arbitrary<byte[]> noiseLines() {
        Arbitrary<Byte> hostile = Arbitraries.frequencyOf(
                weight(4, Arbitraries.bytes()),
                weight(3, Arbitraries.of((byte) '\t', (byte) '\r', (byte) 0, (byte) 1, (byte) 0xff,
                        (byte) 0xc3, (byte) 0xe2, (byte) 0x80, (byte) '=')),
                weight(3, Arbitraries.bytes().between((byte) '0', (byte) 'z')));
        return hostile.list().ofMaxSize(60).map(Inputs::toArray);
    }

    static Arbitrary<String> oddLines() {
        return Arbitraries.of("", "\r", "VERSION\t1\t0", "VERSION\t1\t9", "CPID", "CPID\t", "CPID\t\001n",
                "AUTH", "AUTH\t", "AUTH\t1", "AUTH\t1\t", "CONT\t", "CONT\t1\t", "AUTH\t2\tPLAIN\r\tresp=",
                "auth\t1\tPLAIN", "OK\t1\tuser=root", "DONE", "\0", "AUTH\0\t1\tPLAIN");
    }

    /** A line mutated: a byte flipped, inserted, deleted, or the tail cut. */
    static Arbitrary<byte[]> mutated(Arbitrary<String> lines) {
        return Combinators.combine(lines, Arbitraries.integers().between(0, 3), Arbitraries.integers().between(0, 10_000),
                Arbitraries.of((byte) '\t', (byte) '\r', (byte) 0, (byte) 1, (byte) 0xff, (byte) '=', (byte) '\n'))
                .as((line, how, where, b) -> {
                    byte[] s = line.getBytes(StandardCharsets.UTF_8);
                    int i = s.length == 0 ? 0 : where % s.length;
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    switch (how) {
                        case 0 -> {
                            out.writeBytes(s);
                            if (s.length > 0) {
                                byte[] t = out.toByteArray();
                                t[i] ^= (byte) (1 << (where % 8));
                                return t;
                            }
                        }
                        case 1 -> {
                            out.write(s, 0, i);
                            out.write(b);
                            out.write(s, i, s.length - i);
                        }
                        case 2 -> {
                            out.write(s, 0, i);
                            if (i + 1 <= s.length) {
                                out.write(s, Math.min(i + 1, s.length), s.length - Math.min(i + 1, s.length));
                            }
                        }
                        default -> out.write(s, 0, i);
                    }
                    return out.toByteArray();
                });
    }

    /** One line as bytes, without its end. */
    static Arbitrary<byte[]> line(boolean huge) {
        Arbitrary<byte[]> text = Arbitraries.frequencyOf(
                weight(8, authLines().map(Inputs::utf8)),
                weight(6, contLines().map(Inputs::utf8)),
                weight(6, exchanges().map(Inputs::utf8)),
                weight(2, oddLines().map(Inputs::utf8)),
                weight(2, noiseLines()),
                weight(3, mutated(Arbitraries.oneOf(authLines(), contLines(), exchanges()))));
        return huge ? Arbitraries.frequencyOf(weight(30, text), weight(1, hugeLines())) : text;
    }

    static Arbitrary<String> endings() {
        return Arbitraries.frequencyOf(
                weight(12, Arbitraries.just("\n")),
                weight(1, Arbitraries.of("\r\n", "\r\r\n", "\n\n", "\r")));
    }

    static Arbitrary<String> handshakes() {
        return Arbitraries.frequencyOf(
                weight(12, Arbitraries.just("VERSION\t1\t0\nCPID\t4242\n")),
                weight(1, Arbitraries.of("", "CPID\t1\n", "VERSION\t1\t1\r\nCPID\t9\r\n",
                        "VERSION\t2\t0\nCPID\t1\n", "VERSION\n", "VERSION\t1\n", "VERSION\t\001\n")));
    }

    /** A session: handshake, then lines, each with an ending; the last sometimes without. */
    static Arbitrary<byte[]> sessions(int maxLines, boolean huge) {
        Arbitrary<byte[]> ended = Combinators.combine(line(huge), endings()).as((l, e) -> concat(l, utf8(e)));
        return Combinators.combine(handshakes(), ended.list().ofMaxSize(maxLines), line(false), Arbitraries.integers().between(0, 3))
                .as((hs, lines, tail, withTail) -> {
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    out.writeBytes(utf8(hs));
                    lines.forEach(out::writeBytes);
                    if (withTail == 0) {
                        out.writeBytes(tail);
                    }
                    return out.toByteArray();
                });
    }

    /** One weighted choice of {@link Arbitraries#frequencyOf}. */
    static <T> Tuple.Tuple2<Integer, Arbitrary<? extends T>> weight(int weight, Arbitrary<? extends T> choice) {
        return Tuple.of(weight, choice);
    }

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static byte[] toArray(List<Byte> bytes) {
        byte[] out = new byte[bytes.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = bytes.get(i);
        }
        return out;
    }
}
