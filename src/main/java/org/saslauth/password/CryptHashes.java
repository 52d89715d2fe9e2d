package org.saslauth.password;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.codec.digest.Crypt;
import org.apache.commons.codec.digest.Md5Crypt;
import org.apache.commons.codec.digest.UnixCrypt;

/**
 * The crypt(3) family. Dovecot hands {@code CRYPT}, {@code DES-CRYPT}, {@code MD5-CRYPT},
 * {@code SHA256-CRYPT} and {@code SHA512-CRYPT} data alike to the system's crypt(), so any of
 * them accepts any hash crypt() knows; {@code BLF-CRYPT} insists on bcrypt. They differ in what
 * {@code doveadm pw} makes. saslauth knows DES, {@code $1$}, {@code $5$}, {@code $6$}, bcrypt
 * ({@code $2a$ $2b$ $2y$}) and, beyond Dovecot's crypt(), Argon2. The system's libxcrypt
 * ({@link SystemCrypt}) computes them where it can be used, at C speed, and with it yescrypt
 * ({@code $y$}, {@code $gy$}) and scrypt ({@code $7$}) too; the Java code computes the others
 * where it cannot.
 *
 * <p>Data starting with {@code !} or {@code *} is a locked account, as {@code /etc/shadow} marks
 * them ({@code !$6$...}, {@code *}, {@code !!}, {@code *LK*}): crypt() never reproduces such a
 * string, so Dovecot reads it as a hash that matches no password, and so does saslauth.
 * {@code BLF-CRYPT} refuses it, as in Dovecot.
 */
final class CryptHashes implements Scheme {

    /** What {@code doveadm pw} makes for each name. */
    enum Maker { DES, MD5, SHA256, SHA512, BCRYPT }

    private static final Pattern DES = Pattern.compile("[./0-9A-Za-z]{13}");
    private static final Pattern MD5_CRYPT = Pattern.compile("\\$1\\$[^$]{0,8}\\$[./0-9A-Za-z]{22}");
    private static final Pattern SHA2_CRYPT =
            Pattern.compile("\\$([56])\\$(?:rounds=([0-9]{1,9})\\$)?[^$]{0,16}\\$[./0-9A-Za-z]+");
    private static final Pattern BCRYPT =
            Pattern.compile("\\$2[aby]\\$[0-3][0-9]\\$[./0-9A-Za-z]{53}");

    /** A locked account: no password matches. */
    private static final Check LOCKED = password -> false;

    private final String name;
    private final Maker maker;
    private final boolean bcryptOnly;

    CryptHashes(String name, Maker maker, boolean bcryptOnly) {
        this.name = name;
        this.maker = maker;
        this.bcryptOnly = bcryptOnly;
    }

    @Override
    public Check check(byte[] raw, Optional<String> user) {
        String hash = new String(raw, StandardCharsets.UTF_8);
        if (!bcryptOnly && (hash.startsWith("!") || hash.startsWith("*"))) {
            return LOCKED;
        }
        if (BCRYPT.matcher(hash).matches()) {
            SystemCrypt.loadInTheBackground(); // by the first login
            int cost = Integer.parseInt(hash.substring(4, 6));
            Costs.require(cost <= Costs.MAX_BCRYPT_COST, name, "bcrypt cost " + cost,
                    Integer.toString(Costs.MAX_BCRYPT_COST));
            return Scheme.Check.costing(Costs.bcrypt(cost), password -> SystemCrypt.hash(password, raw)
                    .map(made -> MessageDigest.isEqual(made, raw))
                    .orElseGet(() -> Bcrypt.matches(hash, password)));
        }
        if (bcryptOnly) {
            throw new IllegalArgumentException("{" + name + "} data is not a bcrypt hash ($2y$...)");
        }
        if (hash.startsWith("$argon2")) {
            return Argon2.parse(hash, Optional.empty(), name);
        }
        boolean des = DES.matcher(hash).matches();
        Matcher sha2 = SHA2_CRYPT.matcher(hash);
        if (des || MD5_CRYPT.matcher(hash).matches() || sha2.matches()) {
            long cost = des ? Costs.CHEAP : Costs.md5Crypt();
            if (sha2.matches()) {
                // crypt(3) clamps rounds to 1000..999999999, and so does commons-codec
                int rounds = sha2.group(2) == null ? 5000 : Math.max(1000, Integer.parseInt(sha2.group(2)));
                Costs.require(rounds <= Costs.MAX_SHA_CRYPT_ROUNDS, name, "rounds=" + rounds,
                        "rounds=" + Costs.MAX_SHA_CRYPT_ROUNDS);
                cost = Costs.shaCrypt(sha2.group(1).equals("6"), rounds);
            }
            byte[] stored = hash.getBytes(StandardCharsets.US_ASCII);
            SystemCrypt.loadInTheBackground(); // by the first login
            return Scheme.Check.costing(cost, password -> {
                if (des && desKeyIsEmpty(password)) {
                    return false;
                }
                Optional<byte[]> system = SystemCrypt.hash(password, stored);
                if (system.isPresent()) {
                    return MessageDigest.isEqual(system.get(), stored);
                }
                // commons-codec's SHA-crypt zeroes the key it is given: hand it a copy, so that the
                // caller's password is intact for the penalty's guess digest, and wipe the copy.
                byte[] key = password.clone();
                String made;
                try {
                    made = Crypt.crypt(key, hash);
                } catch (IllegalArgumentException e) {
                    return false;
                } finally {
                    java.util.Arrays.fill(key, (byte) 0);
                }
                return MessageDigest.isEqual(made.getBytes(StandardCharsets.US_ASCII), stored);
            });
        }
        OptionalLong systemCost = systemOnlyCost(hash, name);
        if (systemCost.isPresent()) {
            String needs = "{" + name + "} data" + kind(hash) + " needs the system's libxcrypt (libcrypt.so.1)";
            if (SystemCrypt.knownUnavailable()) {
                throw new IllegalArgumentException(needs + ", which cannot be used here: " + SystemCrypt.whyNot());
            }
            byte[] stored = hash.getBytes(StandardCharsets.US_ASCII);
            SystemCrypt.loadInTheBackground(); // by the first login
            return Scheme.Check.costing(systemCost.getAsLong(), password -> {
                Optional<byte[]> made = SystemCrypt.hash(password, stored);
                if (made.isEmpty()) {
                    SystemCrypt.cannotCheck(needs);
                    return false;
                }
                return MessageDigest.isEqual(made.get(), stored);
            });
        }
        throw new IllegalArgumentException("{" + name + "} data is not a crypt(3) hash saslauth knows"
                + kind(hash));
    }

    /** {@code ./0-9A-Za-z}: crypt's base-64 digits, in the order of their values. */
    private static final String ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    private static final Pattern YESCRYPT = Pattern.compile(
            "\\$g?y\\$([./0-9A-Za-z])([./0-9A-Za-z])([./0-9A-Za-z])\\$[^$]+\\$[./0-9A-Za-z]+");
    private static final Pattern SCRYPT = Pattern.compile(
            "\\$7\\$([./0-9A-Za-z])([./0-9A-Za-z]{5})([./0-9A-Za-z]{5})[^$]*\\$[./0-9A-Za-z]+");

    /**
     * The cost of a hash that only libxcrypt computes: yescrypt ({@code $y$}), gost-yescrypt
     * ({@code $gy$}) and scrypt ({@code $7$}), whose work ({@code 128 * N * r * p} bytes) is held
     * to {@link Costs#MAX_YESCRYPT_BYTES}; empty for anything else. yescrypt's optional
     * parameters (p, t, g, ROM), which multiply its time, are refused: a {@code $} must follow
     * r, as in every hash {@code crypt_gensalt} makes.
     */
    static OptionalLong systemOnlyCost(String hash, String name) {
        int nLog2;
        long r;
        long p = 1;
        Matcher y = YESCRYPT.matcher(hash);
        Matcher s = SCRYPT.matcher(hash);
        if (y.matches()) {
            // yescrypt's parameters, each one digit when small: flavor, log2(N) - 1, r - 1
            int n = ITOA64.indexOf(y.group(2).charAt(0));
            int rr = ITOA64.indexOf(y.group(3).charAt(0));
            if (n > 47 || rr > 47) { // a second digit: values this large are over the limit anyway
                throw new IllegalArgumentException("{" + name + "} yescrypt parameters over saslauth's limit of "
                        + Costs.MAX_YESCRYPT_BYTES / (1024 * 1024) + " MiB: hash it again at a lower cost");
            }
            nLog2 = n + 1;
            r = rr + 1;
        } else if (s.matches()) {
            nLog2 = ITOA64.indexOf(s.group(1).charAt(0));
            r = 0;
            p = 0;
            for (int i = 4; i >= 0; i--) { // 30 bits each, little-endian, 6 per digit
                r = r << 6 | ITOA64.indexOf(s.group(2).charAt(i));
                p = p << 6 | ITOA64.indexOf(s.group(3).charAt(i));
            }
        } else {
            return OptionalLong.empty();
        }
        long bytes = nLog2 >= 40 || r > (1L << 20) || p > (1L << 20) || r * p > (1L << 20) ? Long.MAX_VALUE
                : (128L << nLog2) * r * Math.max(1, p);
        Costs.require(bytes <= Costs.MAX_YESCRYPT_BYTES, name, (hash.startsWith("$7$") ? "scrypt" : "yescrypt")
                + " memory of " + (bytes == Long.MAX_VALUE ? "over 1 TiB" : bytes / (1024 * 1024) + " MiB"),
                Costs.MAX_YESCRYPT_BYTES / (1024 * 1024) + " MiB");
        return OptionalLong.of(Costs.yescrypt(bytes));
    }

    /**
     * Whether DES would hash {@code password}, not itself empty, like the empty one (which
     * {@code Credentials} refuses for every scheme, while a DES hash of it still matches it here,
     * as in Dovecot). DES crypt(3) takes the low 7 bits of each of the first 8 bytes as its key, so
     * a password of {@code \x80} bytes is a key of zero bits, the key of the empty password. Other bytes at or above {@code 0x80} are checked as
     * Dovecot's crypt(3) does (their high bit dropped), so that DES hashes made of non-ASCII
     * passwords keep working; that collision ({@code "\u00e9"} is {@code "C)"} to DES) only
     * narrows an 8-byte key that is weak anyway.
     */
    static boolean desKeyIsEmpty(byte[] password) {
        if (password.length == 0) {
            return false;
        }
        for (int i = 0; i < Math.min(password.length, 8); i++) {
            if ((password[i] & 0x7f) != 0) {
                return false;
            }
        }
        return true;
    }

    /** A hint naming the kind of an unsupported hash, from its {@code $id$}; never the hash. */
    private static String kind(String hash) {
        if (hash.startsWith("$y$")) {
            return " (yescrypt $y$)";
        }
        if (hash.startsWith("$7$")) {
            return " (scrypt $7$)";
        }
        if (hash.startsWith("$gy$")) {
            return " (gost-yescrypt $gy$)";
        }
        return "";
    }

    @Override
    public byte[] generate(byte[] password, Params params) {
        String hash;
        switch (maker) {
            case DES:
                hash = UnixCrypt.crypt(password, Salts.text(2));
                break;
            case MD5:
                hash = Md5Crypt.md5Crypt(password, "$1$" + Salts.text(8));
                break;
            case SHA256:
            case SHA512:
                String rounds = params.rounds().isEmpty() ? ""
                        : "rounds=" + params.roundsOr(5000, 1000, Costs.MAX_SHA_CRYPT_ROUNDS, name + " rounds") + "$";
                hash = Crypt.crypt(password, (maker == Maker.SHA256 ? "$5$" : "$6$") + rounds + Salts.text(16));
                break;
            default:
                hash = Bcrypt.generate(password, params.roundsOr(5, 4, Costs.MAX_BCRYPT_COST, "bcrypt cost"));
                break;
        }
        return hash.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * {@code MD5}: in Dovecot an MD5-CRYPT hash ({@code $1$}), which it also makes, or else a
     * {@code PLAIN-MD5} digest in hex or base64.
     */
    static final class Md5 implements Scheme {
        static final Md5 INSTANCE = new Md5();
        private static final CryptHashes MD5_CRYPT = new CryptHashes("MD5", Maker.MD5, false);
        private static final Digests.Unsalted PLAIN_MD5 = new Digests.Unsalted("MD5", Encoding.HEX, 16);

        private Md5() {}

        @Override
        public Check check(byte[] raw, Optional<String> user) {
            String data = new String(raw, StandardCharsets.UTF_8);
            if (data.startsWith("$1$")) {
                return MD5_CRYPT.check(raw, user);
            }
            byte[] digest;
            try {
                digest = (data.length() == 32 ? Encoding.HEX : Encoding.BASE64).decode(data);
            } catch (IllegalArgumentException e) {
                digest = new byte[0];
            }
            if (digest.length != 16) {
                throw new IllegalArgumentException("{MD5} data is neither MD5-CRYPT ($1$) nor an MD5 digest");
            }
            return PLAIN_MD5.check(digest, user);
        }

        @Override
        public byte[] generate(byte[] password, Params params) {
            return MD5_CRYPT.generate(password, params);
        }
    }
}
