package org.saslauth.password;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.crypto.digests.SHA1Digest;
import org.bouncycastle.crypto.generators.PKCS5S2ParametersGenerator;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * {@code PBKDF2}, Dovecot's own form: {@code $1$salt$rounds$hex}, PBKDF2-HMAC-SHA1 (RFC 8018) with
 * the salt text itself as the salt, 20 bytes of key in hex. Dovecot makes 16-character salts and
 * 5000 rounds.
 */
final class Pbkdf2 implements Scheme {

    static final Pbkdf2 INSTANCE = new Pbkdf2();
    private static final Pattern FORM = Pattern.compile("\\$1\\$([^$]*)\\$([0-9]{1,10})\\$([0-9a-fA-F]{40})");

    private Pbkdf2() {}

    @Override
    public Check check(byte[] raw, Optional<String> user) {
        Matcher m = FORM.matcher(new String(raw, StandardCharsets.UTF_8));
        if (!m.matches()) {
            throw new IllegalArgumentException("{PBKDF2} data is not $1$salt$rounds$<40 hex digits>");
        }
        long rounds = Long.parseLong(m.group(2));
        if (rounds < 1) {
            throw new IllegalArgumentException("{PBKDF2} rounds out of range");
        }
        Costs.require(rounds <= Costs.MAX_ITERATIONS, "PBKDF2", rounds + " rounds",
                Integer.toString(Costs.MAX_ITERATIONS));
        byte[] salt = m.group(1).getBytes(StandardCharsets.UTF_8);
        byte[] key = HexFormat.of().parseHex(m.group(3));
        return Check.costing(Costs.iterations((int) rounds), password -> {
            byte[] made = derive(password, salt, (int) rounds, key.length);
            try {
                return MessageDigest.isEqual(made, key);
            } finally {
                Arrays.fill(made, (byte) 0);
            }
        });
    }

    @Override
    public byte[] generate(byte[] password, Params params) {
        int rounds = params.roundsOr(5000, 1, Costs.MAX_ITERATIONS, "PBKDF2 rounds");
        String salt = Salts.text(16);
        byte[] key = derive(password, salt.getBytes(StandardCharsets.US_ASCII), rounds, 20);
        String out = "$1$" + salt + "$" + rounds + "$" + HexFormat.of().formatHex(key);
        Arrays.fill(key, (byte) 0);
        return out.getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] derive(byte[] password, byte[] salt, int rounds, int length) {
        PKCS5S2ParametersGenerator generator = new PKCS5S2ParametersGenerator(new SHA1Digest());
        generator.init(password, salt, rounds);
        return ((KeyParameter) generator.generateDerivedParameters(length * 8)).getKey();
    }
}
