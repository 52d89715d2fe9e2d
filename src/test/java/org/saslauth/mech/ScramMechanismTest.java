package org.saslauth.mech;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.saslauth.Deadline;
import org.saslauth.password.PasswordSchemes;
import org.saslauth.password.ScramHash;
import org.saslauth.password.ScramSecret;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.PasswdFile;
import org.saslauth.store.UserNameFormat;

/** SCRAM-SHA-1 and SCRAM-SHA-256 from the RFCs' examples, against every kind of entry and broken message. */
class ScramMechanismTest {

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String text(Step step) {
        return new String(assertInstanceOf(Step.Challenge.class, step).data(), StandardCharsets.UTF_8);
    }

    static String outcome(Step step) {
        if (step instanceof Step.Failure f) {
            return "FAIL " + f.reason();
        }
        return MechanismTest.describe(step);
    }

    /** RFC 5802, section 5, and RFC 7677, section 3: user "user", password "pencil". */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "SHA_1   | QSXCR+Q6sek8bf92 | fyko+d2lbbFgONRv9qkxdawL | 3rfcNHYJY1ZVvWVs7j"
                + " | v0X8v3Bz2T0CJGbJQyF0X+HI4Ts= | v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
        "SHA_256 | W22ZaJ0SNY7soEsUEjb6gQ== | rOprNGfwEbeRWgbNEkqO | %hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
                + " | dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ= | v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
    })
    void rfcExample(ScramHash hash, String salt, String clientNonce, String serverNonce, String proof,
            String serverFinal) throws Exception {
        String entry = ScramClient.entry(hash, "pencil", Base64.getDecoder().decode(salt), 4096);
        Credentials credentials = new Credentials(new EntryStore().with("user", entry), UserNameFormat.AS_IS);
        Exchange ex = new ScramMechanism(hash, () -> serverNonce).newExchange(credentials);

        String serverFirst = text(ex.start(Optional.of(bytes("n,,n=user,r=" + clientNonce)), Deadline.NONE));
        String nonce = clientNonce + serverNonce;
        assertEquals("r=" + nonce + ",s=" + salt + ",i=4096", serverFirst);
        String last = "c=biws,r=" + nonce + ",p=" + proof;
        ScramClient client = new ScramClient(hash, "user", "pencil", clientNonce);
        client.first();
        assertEquals(last, client.last(serverFirst), "the test's own client agrees with the RFC");

        assertEquals(serverFinal, text(ex.next(bytes(last), Deadline.NONE)));
        assertEquals("OK user", outcome(ex.next(new byte[0], Deadline.NONE)));
        assertEquals("FAIL MALFORMED", outcome(ex.next(new byte[0], Deadline.NONE)), "a step after the end");
    }

    static final String DOVEADM_SHA1 = "{SCRAM-SHA-1}4096,p9krwFO960az1zdnyw6Urw==,"
            + "eJZtXyDdube3ywhbOgK6NM77SLU=,Cx2F9A9m2CaFQ23Dm7puC2egISM="; // doveadm pw -s SCRAM-SHA-1 -p pencil

    static final String CRYPT = "{SHA512-CRYPT}$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/";

    static EntryStore store() throws Exception {
        byte[] salt = "sixteen byte slt".getBytes(StandardCharsets.US_ASCII);
        return new EntryStore()
                .with("plain", "{PLAIN}pencil")
                .with("sha1", DOVEADM_SHA1)
                .with("sha256", ScramClient.entry(ScramHash.SHA_256, "pencil", salt, 5000))
                .with("crypt", CRYPT)
                .with("cram", "{CRAM-MD5}d06d4e1b26fccaa4b0b61801132340a354b21152711fb604ca3e035e7015116b")
                .with("a,b=c", "{PLAIN}pencil")
                .with("émile", "{PLAIN}pässwörd")
                .with("émile256", ScramClient.entry(ScramHash.SHA_256, "pässwörd", salt, 4096))
                .with("blank", "{PLAIN}")
                .with("blank256", ScramClient.entry(ScramHash.SHA_256, "", salt, 4096));
    }

    final Credentials credentials = new Credentials(store(), UserNameFormat.AS_IS);

    ScramMechanismTest() throws Exception {}

    /** A whole exchange: OK, or the failure's reason, checking the server signature on the way. */
    String login(ScramHash hash, String user, String password) throws Exception {
        ScramClient client = new ScramClient(hash, user, password, "client-nonce-0123456789");
        Exchange ex = new ScramMechanism(hash).newExchange(credentials);
        Step first = ex.start(Optional.of(bytes(client.first())), Deadline.NONE);
        if (first instanceof Step.Failure f) {
            return "FAIL " + f.reason() + " at client-first";
        }
        String serverFirst = text(first);
        assertTrue(serverFirst.matches("r=client-nonce-0123456789[A-Za-z0-9+/=]{24},s=[A-Za-z0-9+/=]+,i=[0-9]+"), serverFirst);
        Step last = ex.next(bytes(client.last(serverFirst)), Deadline.NONE);
        if (last instanceof Step.Failure f) {
            return "FAIL " + f.reason();
        }
        assertEquals(client.expectedServerSignature, text(last));
        return outcome(ex.next(new byte[0], Deadline.NONE));
    }

    @ParameterizedTest(name = "{0} {1}/{2} -> {3}")
    @CsvSource(delimiter = '|', value = {
        "SHA_1   | plain    | pencil   | OK plain",
        "SHA_256 | plain    | pencil   | OK plain",
        "SHA_1   | plain    | pencils  | FAIL WRONG_PASSWORD",
        "SHA_256 | plain    | ''       | FAIL WRONG_PASSWORD",
        "SHA_1   | sha1     | pencil   | OK sha1",
        "SHA_1   | sha1     | crayon   | FAIL WRONG_PASSWORD",
        "SHA_256 | sha1     | pencil   | FAIL UNSUITABLE_ENTRY",
        "SHA_256 | sha256   | pencil   | OK sha256",
        "SHA_1   | sha256   | pencil   | FAIL UNSUITABLE_ENTRY",
        "SHA_256 | crypt    | pencil   | FAIL UNSUITABLE_ENTRY",
        "SHA_1   | cram     | pencil   | FAIL UNSUITABLE_ENTRY",
        "SHA_256 | nobody   | pencil   | FAIL UNKNOWN_USER",
        "SHA_256 | a,b=c    | pencil   | OK a,b=c",
        "SHA_1   | émile    | pässwörd | OK émile",
        "SHA_256 | émile256 | pässwörd | OK émile256",
        "SHA_256 | émile256 | passwörd | FAIL WRONG_PASSWORD",
        "SHA_256 | blank    | ''       | FAIL WRONG_PASSWORD",
        "SHA_256 | blank256 | ''       | FAIL WRONG_PASSWORD",
        "SHA_256 | ''       | pencil   | FAIL INVALID_USER_NAME at client-first",
    })
    void logins(ScramHash hash, String user, String password, String expected) throws Exception {
        assertEquals(expected, login(hash, user, password));
    }

    String serverFirst(ScramHash hash, String user) {
        Exchange ex = new ScramMechanism(hash).newExchange(credentials);
        return text(ex.start(Optional.of(bytes("n,,n=" + ScramClient.saslName(user) + ",r=abc")), Deadline.NONE));
    }

    /** Salt and iterations, without the nonce. */
    String saltAndIterations(ScramHash hash, String user) {
        String s = serverFirst(hash, user);
        return s.substring(s.indexOf(",s="));
    }

    @ParameterizedTest
    @EnumSource(ScramHash.class)
    void anUnknownUserGetsAServerFirstMessageLikeAnyOther(ScramHash hash) {
        String unknown = saltAndIterations(hash, "nobody");
        assertEquals(unknown, saltAndIterations(hash, "nobody"), "the same salt each time");
        assertNotEquals(unknown, saltAndIterations(hash, "somebody"));
        assertTrue(unknown.matches(",s=[A-Za-z0-9+/]{22}==,i=4096"), unknown);
        String plain = saltAndIterations(hash, "plain");
        assertTrue(plain.matches(",s=[A-Za-z0-9+/]{22}==,i=4096"), plain);
        assertEquals(plain, saltAndIterations(hash, "plain"));
        assertEquals(saltAndIterations(ScramHash.SHA_1, "sha1"), ",s=p9krwFO960az1zdnyw6Urw==,i=4096");
        assertNotEquals(serverFirst(hash, "nobody"), serverFirst(hash, "nobody"), "a fresh nonce each time");
    }

    /** Salt length and iterations of a server-first message: {@code 16/4096}. */
    static String shape(String serverFirst) {
        var a = ScramClient.attributes(serverFirst);
        return Base64.getDecoder().decode(a.get('s')).length + "/" + a.get('i');
    }

    /**
     * A passwd file of users with password "pencil": groups such as {@code 3x10000/16} (three
     * {@code {SCRAM-SHA-256}} users s0, s1, s2 at 10000 iterations with 16-byte salts, as
     * {@code saslauth hash --rounds 10000} makes them) and {@code 2xPLAIN} ({@code {PLAIN}} users
     * p0, p1), and a one-way hash, user crypt.
     */
    static Credentials passwdFile(Path dir, String spec) throws Exception {
        StringBuilder file = new StringBuilder("crypt:" + CRYPT + "\n");
        int scram = 0;
        int plain = 0;
        for (String group : spec.isEmpty() ? new String[0] : spec.split(" ")) {
            int count = Integer.parseInt(group.substring(0, group.indexOf('x')));
            String what = group.substring(group.indexOf('x') + 1);
            for (int i = 0; i < count; i++) {
                if (what.equals("PLAIN")) {
                    file.append("p").append(plain++).append(":{PLAIN}pencil\n");
                    continue;
                }
                int rounds = Integer.parseInt(what.substring(0, what.indexOf('/')));
                byte[] salt = new byte[Integer.parseInt(what.substring(what.indexOf('/') + 1))];
                new Random(scram).nextBytes(salt);
                String entry = salt.length == 16
                        ? PasswordSchemes.hash("SCRAM-SHA-256", bytes("pencil"), OptionalInt.of(rounds))
                        : ScramClient.entry(ScramHash.SHA_256, "pencil", salt, rounds);
                file.append("s").append(scram++).append(':').append(entry).append('\n');
            }
        }
        Path path = dir.resolve("users");
        Files.writeString(path, file);
        return new Credentials(PasswdFile.load(path), UserNameFormat.AS_IS);
    }

    /**
     * Unknown users, {@code {PLAIN}} and crypt users get the salt length and iterations of the
     * store's most common entry, so that they look like it, and the users of that entry cannot
     * be told from them; a {@code {PLAIN}} user logs in with them.
     */
    @ParameterizedTest(name = "{0} asked for {1} -> {2}")
    @CsvSource(delimiter = '|', value = {
        "1xPLAIN 3x10000/16 1x4096/16 | SHA_256 | 16/10000 | s0 s1 s2",
        "1xPLAIN 1x10000/16 3x4096/16 | SHA_256 | 16/4096  | s1 s2 s3",
        "1xPLAIN 2x15000/32 1x4096/16 | SHA_256 | 32/15000 | s0 s1",
        "1xPLAIN 2x5000/48            | SHA_256 | 48/5000  | s0 s1",
        "3xPLAIN 1x10000/16           | SHA_256 | 16/10000 | s0",
        "1xPLAIN 3x10000/16           | SHA_1   | 16/4096  | s0 s1 s2",
        "1xPLAIN                      | SHA_256 | 16/4096  | ''",
    })
    void usersWithoutTheirOwnKeysLookLikeTheMostCommonEntry(String entries, ScramHash hash, String expected,
            String common, @TempDir Path dir) throws Exception {
        Credentials fromFile = passwdFile(dir, entries);
        Function<String, String> serverFirst = user -> text(new ScramMechanism(hash)
                .newExchange(fromFile).start(Optional.of(bytes("n,,n=" + user + ",r=abc")), Deadline.NONE));

        List<String> alike = new ArrayList<>(List.of("nobody", "somebody", "p0", "crypt"));
        if (!common.isEmpty()) {
            alike.addAll(List.of(common.split(" ")));
        }
        for (String user : alike) {
            assertEquals(expected, shape(serverFirst.apply(user)), user);
        }
        String nobody = ScramClient.attributes(serverFirst.apply("nobody")).get('s');
        assertEquals(nobody, ScramClient.attributes(serverFirst.apply("nobody")).get('s'), "the same salt each time");
        assertNotEquals(nobody, ScramClient.attributes(serverFirst.apply("somebody")).get('s'), "another salt for another name");

        ScramClient client = new ScramClient(hash, "p0", "pencil", "n0nce");
        Exchange ex = new ScramMechanism(hash).newExchange(fromFile);
        String last = client.last(text(ex.start(Optional.of(bytes(client.first())), Deadline.NONE)));
        assertEquals(client.expectedServerSignature, text(ex.next(bytes(last), Deadline.NONE)), "the {PLAIN} user logs in with that shape");
        assertEquals("OK p0", outcome(ex.next(new byte[0], Deadline.NONE)));
    }

    /**
     * The key derivations (PBKDF2) of each step, counted rather than timed, at two logins in a
     * row: none before the server-first message, for any user; at the proof, one for a
     * {@code {PLAIN}} user, none for a {@code {SCRAM-SHA-256}} one (but the check, once, that its
     * entry is not of the empty password, after a good proof), and for a user without an entry
     * that serves, what the usual entry of the store costs. So in a store of {@code {PLAIN}}
     * entries (passdb sql, postfixadmin) or of {@code {SCRAM-SHA-256}} ones, neither answer's
     * time tells an unknown user from a known one.
     */
    @ParameterizedTest(name = "{0}: {1} {2}/{3} -> {4}")
    @CsvSource(delimiter = '|', value = {
        "3xPLAIN 1x4096/16  | SHA_256 | p0     | pencil | CONT                  | 1 1",
        "3xPLAIN 1x4096/16  | SHA_256 | p0     | crayon | FAIL WRONG_PASSWORD   | 1 1",
        "3xPLAIN 1x4096/16  | SHA_256 | nobody | pencil | FAIL UNKNOWN_USER     | 1 1",
        "3xPLAIN 1x4096/16  | SHA_256 | crypt  | pencil | FAIL UNSUITABLE_ENTRY | 1 1",
        "3xPLAIN 1x4096/16  | SHA_1   | p0     | pencil | CONT                  | 1 1",
        "3xPLAIN 1x4096/16  | SHA_1   | nobody | pencil | FAIL UNKNOWN_USER     | 1 1",
        "3xPLAIN 1x4096/16  | SHA_1   | s0     | pencil | FAIL UNSUITABLE_ENTRY | 1 1",
        "1xPLAIN 3x10000/16 | SHA_256 | s0     | crayon | FAIL WRONG_PASSWORD   | 0 0",
        "1xPLAIN 3x10000/16 | SHA_256 | nobody | pencil | FAIL UNKNOWN_USER     | 0 0",
        "1xPLAIN 3x10000/16 | SHA_256 | crypt  | pencil | FAIL UNSUITABLE_ENTRY | 0 0",
        "1xPLAIN 3x10000/16 | SHA_256 | s0     | pencil | CONT                  | 1 0",
        "1xPLAIN 3x10000/16 | SHA_256 | p0     | pencil | CONT                  | 1 1",
    })
    void noKeyDerivationBeforeTheServerFirstMessageAndAtTheProofWhatTheUsualEntryCosts(String entries,
            ScramHash hash, String user, String password, String expected, String atProof, @TempDir Path dir)
            throws Exception {
        Credentials fromFile = passwdFile(dir, entries);
        String[] perLogin = atProof.split(" ");
        for (int login = 1; login <= 2; login++) {
            ScramClient client = new ScramClient(hash, user, password, "n0nce" + login);
            Exchange ex = new ScramMechanism(hash).newExchange(fromFile);
            long before = ScramSecret.derivationsOnThisThread();
            String serverFirst = text(ex.start(Optional.of(bytes(client.first())), Deadline.NONE));
            long atFirst = ScramSecret.derivationsOnThisThread();
            String last = client.last(serverFirst);
            long beforeFinal = ScramSecret.derivationsOnThisThread();
            String got = outcome(ex.next(bytes(last), Deadline.NONE));
            long atFinal = ScramSecret.derivationsOnThisThread();
            assertEquals(expected, got.startsWith("CONT ") ? "CONT" : got, "login " + login);
            assertEquals(0, atFirst - before, "derivations before the server-first message, login " + login);
            assertEquals(Long.parseLong(perLogin[login - 1]), atFinal - beforeFinal, "derivations at the proof, login " + login);
        }
    }

    @Test
    void theLogNamesTheSchemeThatCannotServe() throws Exception {
        ScramClient client = new ScramClient(ScramHash.SHA_256, "crypt", "pencil", "n0nce");
        Exchange ex = new ScramMechanism(ScramHash.SHA_256).newExchange(credentials);
        String serverFirst = text(ex.start(Optional.of(bytes(client.first())), Deadline.NONE));
        Step.Failure f = assertInstanceOf(Step.Failure.class, ex.next(bytes(client.last(serverFirst)), Deadline.NONE));
        assertTrue(f.logText().contains("{SHA512-CRYPT}"), f.logText());
        assertEquals(Step.Reason.WRONG_PASSWORD.clientText(), f.reason().clientText());
    }

    /** A wrong proof says nothing stable about the password: every failure counts for the penalty. */
    @Test
    void aWrongProofCarriesNoGuess() throws Exception {
        ScramClient client = new ScramClient(ScramHash.SHA_256, "plain", "crayon", "n0nce");
        Exchange ex = new ScramMechanism(ScramHash.SHA_256).newExchange(credentials);
        String serverFirst = text(ex.start(Optional.of(bytes(client.first())), Deadline.NONE));
        Step.Failure f = assertInstanceOf(Step.Failure.class, ex.next(bytes(client.last(serverFirst)), Deadline.NONE));
        assertEquals(Step.Reason.WRONG_PASSWORD, f.reason());
        assertTrue(f.guess().isEmpty());
    }

    @ParameterizedTest(name = "client-first [{0}] -> {1}")
    @CsvSource(delimiter = '|', value = {
        "n,,n=plain,r=abc               | CONT",
        "y,,n=plain,r=abc               | CONT",
        "n,a=plain,n=plain,r=abc        | CONT",
        "n,,n=plain,r=abc,x=ext         | CONT",
        "n,a=other,n=plain,r=abc        | FAIL AUTHZID_REFUSED",
        "p=tls-unique,,n=plain,r=abc    | FAIL MALFORMED",
        "x,,n=plain,r=abc               | FAIL MALFORMED",
        "n,b=plain,n=plain,r=abc        | FAIL MALFORMED",
        "n,,m=ext,n=plain,r=abc         | FAIL MALFORMED",
        "n,,n=plain                     | FAIL MALFORMED",
        "n,,r=abc,n=plain               | FAIL MALFORMED",
        "n,,n=plain,r=                  | FAIL MALFORMED",
        "n,,n=plain,r=a b               | FAIL MALFORMED",
        "n,,n=pl=2Xain,r=abc            | FAIL MALFORMED",
        "n,,n=plain,r=abc,=x            | FAIL MALFORMED",
        "n,n=plain,r=abc                | FAIL MALFORMED",
        "n                              | FAIL MALFORMED",
        "''                             | FAIL MALFORMED",
        "n,,n=,r=abc                    | FAIL INVALID_USER_NAME",
    })
    void clientFirst(String message, String expected) {
        Exchange ex = new ScramMechanism(ScramHash.SHA_256).newExchange(credentials);
        String got = outcome(ex.start(Optional.of(bytes(message)), Deadline.NONE));
        assertEquals(expected, got.startsWith("CONT ") ? "CONT" : got);
    }

    @Test
    void oversizedAndNonUtf8ClientFirstMessagesFail() {
        Exchange ex = new ScramMechanism(ScramHash.SHA_256).newExchange(credentials);
        assertEquals("FAIL MALFORMED", outcome(ex.start(Optional.of(bytes("n,,n=plain,r=" + "x".repeat(257))), Deadline.NONE)));
        byte[] bad = bytes("n,,n=pla\u00e9in,r=abc");
        bad[9] = (byte) 0xff;
        Exchange ex2 = new ScramMechanism(ScramHash.SHA_256).newExchange(credentials);
        assertEquals("FAIL MALFORMED", outcome(ex2.start(Optional.of(bad), Deadline.NONE)));
        Exchange ex3 = new ScramMechanism(ScramHash.SHA_256).newExchange(credentials);
        assertEquals("FAIL INVALID_USER_NAME", outcome(ex3.start(Optional.of(bytes("n,,n=" + "u".repeat(300) + ",r=abc")), Deadline.NONE)));
    }

    /**
     * What an exchange keeps between steps, in characters and bytes: its own String and byte[]
     * fields, and those in Optionals.
     */
    static int kept(Exchange ex) throws IllegalAccessException {
        int total = 0;
        for (java.lang.reflect.Field field : ex.getClass().getDeclaredFields()) {
            field.setAccessible(true);
            Object value = field.get(ex);
            if (value instanceof Optional<?> o) {
                value = o.orElse(null);
            }
            if (value instanceof String s) {
                total += s.length();
            } else if (value instanceof byte[] b) {
                total += b.length;
            }
        }
        return total;
    }

    /** What GNU SASL 2.2 sends, with an authzid; a long name; and the bound of 1 KiB either side. */
    @ParameterizedTest(name = "{0} bytes of client-first -> {1}")
    @CsvSource(delimiter = '|', value = {
        "0    | CONT",
        "1024 | CONT",
        "1025 | FAIL MALFORMED",
        "12300 | FAIL MALFORMED",
    })
    void aClientFirstMessageOverOneKibibyteIsRefused(int size, String expected) throws Exception {
        String head = "n,a=plain,n=plain,r=gFOFbh4Dv9CagxEwlrOl4atM";
        String message = size == 0 ? head : head + ",x=" + "A".repeat(size - head.length() - 3);
        Exchange ex = new ScramMechanism(ScramHash.SHA_256).newExchange(credentials);
        Step step = ex.start(Optional.of(bytes(message)), Deadline.NONE);
        String got = outcome(step);
        assertEquals(expected, got.startsWith("CONT ") ? "CONT" : got);
        if (step instanceof Step.Failure f) {
            assertTrue(f.logText().contains("over 1024 bytes"), f.logText());
            assertEquals("FAIL MALFORMED", outcome(ex.next(bytes("c=biws,r=x,p=AAAA"), Deadline.NONE)), "the exchange is over");
        }
        assertTrue(kept(ex) <= 1024 + 2 * ScramMechanism.MAX_NONCE + 128, "kept " + kept(ex));
    }

    @Test
    void aLongUserNameWithAnAuthzidFitsTheBudget() throws Exception {
        String user = "u".repeat(64) + "@" + "d".repeat(180) + ".example"; // an address of 253 characters
        EntryStore store = new EntryStore().with(user, "{PLAIN}pencil");
        ScramClient client = new ScramClient(ScramHash.SHA_256, user, "pencil", "gFOFbh4Dv9CagxEwlrOl4atM");
        client.gs2 = "n,a=" + user + ",";
        Exchange ex = new ScramMechanism(ScramHash.SHA_256).newExchange(new Credentials(store, UserNameFormat.AS_IS));
        String serverFirst = text(ex.start(Optional.of(bytes(client.first())), Deadline.NONE));
        String last = client.last(serverFirst);
        assertEquals(client.expectedServerSignature, text(ex.next(bytes(last), Deadline.NONE)));
        assertEquals("OK " + user, outcome(ex.next(new byte[0], Deadline.NONE)));
    }

    /** A client-final message built from a good one by {@code edit}, for a user with the right password. */
    String clientFinal(java.util.function.UnaryOperator<String> edit) throws Exception {
        ScramClient client = new ScramClient(ScramHash.SHA_256, "plain", "pencil", "n0nce");
        Exchange ex = new ScramMechanism(ScramHash.SHA_256).newExchange(credentials);
        String serverFirst = text(ex.start(Optional.of(bytes(client.first())), Deadline.NONE));
        return outcome(ex.next(bytes(edit.apply(client.last(serverFirst))), Deadline.NONE));
    }

    @Test
    void brokenClientFinalMessagesFail() throws Exception {
        assertTrue(clientFinal(s -> s).startsWith("CONT v="));
        assertEquals("FAIL MALFORMED", clientFinal(s -> s.replace("c=biws", "c=eSws")), "other GS2 header");
        assertEquals("FAIL MALFORMED", clientFinal(s -> s.replace("c=biws", "c=bi*s")), "binding not base64");
        assertEquals("FAIL MALFORMED", clientFinal(s -> s.replace(",r=n0nce", ",r=n1nce")), "another nonce");
        assertEquals("FAIL MALFORMED", clientFinal(s -> s.replace(",r=n0nce", ",r=n0nc")), "nonce cut");
        assertEquals("FAIL MALFORMED", clientFinal(s -> s.replaceAll(",r=[^,]*", ",r=n0nce")), "client nonce only");
        assertEquals("FAIL MALFORMED", clientFinal(s -> s.substring(0, s.indexOf(",p="))), "no proof");
        assertEquals("FAIL MALFORMED", clientFinal(s -> s + "AAAA"), "proof too long");
        assertEquals("FAIL MALFORMED", clientFinal(s -> s.substring(0, s.length() - 8)), "proof too short");
        assertEquals("FAIL MALFORMED", clientFinal(s -> s.replace(",p=", ",p=!")), "proof not base64");
        assertEquals("FAIL MALFORMED", clientFinal(s -> s.substring(s.indexOf(",r=") + 1)), "no binding");
        assertEquals("FAIL MALFORMED", clientFinal(s -> "n,,n=plain,r=n0nce"), "client-first again");
        assertEquals("FAIL MALFORMED", clientFinal(s -> ""), "empty");
        assertEquals("FAIL WRONG_PASSWORD", clientFinal(s -> s.replace(",p=", ",x=1,p=")),
                "an extension the client did not sign");
    }

    @Test
    void anythingButAnEmptyAcknowledgementFails() throws Exception {
        ScramClient client = new ScramClient(ScramHash.SHA_1, "plain", "pencil", "n0nce");
        Exchange ex = new ScramMechanism(ScramHash.SHA_1).newExchange(credentials);
        String serverFirst = text(ex.start(Optional.of(bytes(client.first())), Deadline.NONE));
        text(ex.next(bytes(client.last(serverFirst)), Deadline.NONE));
        assertEquals("FAIL MALFORMED", outcome(ex.next(bytes("v=x"), Deadline.NONE)));
        assertEquals("FAIL MALFORMED", outcome(ex.next(new byte[0], Deadline.NONE)), "and the exchange is over");
    }

    @Test
    void withoutAnInitialResponseTheServerAsksForIt() throws Exception {
        ScramClient client = new ScramClient(ScramHash.SHA_256, "sha256", "pencil", "n0nce");
        Exchange ex = new ScramMechanism(ScramHash.SHA_256).newExchange(credentials);
        assertEquals("CONT ", MechanismTest.describe(ex.start(Optional.empty(), Deadline.NONE)));
        String serverFirst = text(ex.next(bytes(client.first()), Deadline.NONE));
        String last = client.last(serverFirst);
        assertEquals(client.expectedServerSignature, text(ex.next(bytes(last), Deadline.NONE)));
        assertEquals("OK sha256", outcome(ex.next(new byte[0], Deadline.NONE)));
    }

    @Test
    void aStoreThatIsDownFailsAtOnceAndTemporarily() {
        Credentials down = new Credentials(EntryStore.DOWN, UserNameFormat.AS_IS);
        Exchange ex = new ScramMechanism(ScramHash.SHA_256).newExchange(down);
        Step.Failure f = assertInstanceOf(Step.Failure.class, ex.start(Optional.of(bytes("n,,n=plain,r=abc")), Deadline.NONE));
        assertTrue(f.reason().temporary());
    }
}
