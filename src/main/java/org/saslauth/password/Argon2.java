package org.saslauth.password;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

/**
 * {@code ARGON2I} and {@code ARGON2ID}, which Dovecot hands to libsodium: the PHC string
 * {@code $argon2id$v=19$m=KiB,t=passes,p=lanes$salt$hash}, salt and hash in unpadded base64.
 * Computed by libsodium where it is installed ({@link SodiumArgon2}), else by Bouncy Castle's
 * Argon2.
 */
final class Argon2 implements Scheme {

    private static final Pattern PHC = Pattern.compile(
            "\\$(argon2id|argon2i)\\$v=19\\$m=([0-9]{1,10}),t=([0-9]{1,10}),p=([0-9]{1,3})"
            + "\\$([A-Za-z0-9+/]{11,})\\$([A-Za-z0-9+/]{16,})");

    private final String name;
    private final String variant;
    private final int defaultPasses;
    private final int memoryKiB;
    private final int minPasses;

    /**
     * {@code defaultPasses} and {@code memoryKiB} are what {@code doveadm pw} makes by default
     * (libsodium's "interactive" limits); {@code --rounds} sets only the passes, never below
     * libsodium's minimum {@code minPasses}.
     */
    Argon2(String name, String variant, int defaultPasses, int memoryKiB, int minPasses) {
        this.name = name;
        this.variant = variant;
        this.defaultPasses = defaultPasses;
        this.memoryKiB = memoryKiB;
        this.minPasses = minPasses;
    }

    @Override
    public Check check(byte[] raw, Optional<String> user) {
        return parse(new String(raw, StandardCharsets.UTF_8), Optional.of(variant), name);
    }

    /**
     * @param variant the one the scheme name demands, or empty under CRYPT
     * @throws IllegalArgumentException for a malformed string, or one asking for more memory than
     *     this JVM's heap can give (it would fail at every login)
     */
    static Check parse(String phc, Optional<String> variant, String name) {
        Matcher m = PHC.matcher(phc);
        if (!m.matches() || (variant.isPresent() && !variant.get().equals(m.group(1)))) {
            throw new IllegalArgumentException("{" + name + "} data is not a "
                    + variant.orElse("argon2i/argon2id") + " v=19 string ($" + variant.orElse("argon2id")
                    + "$v=19$m=...,t=...,p=...$salt$hash)");
        }
        int type = m.group(1).equals("argon2id") ? Argon2Parameters.ARGON2_id : Argon2Parameters.ARGON2_i;
        long memory = Long.parseLong(m.group(2));
        long passes = Long.parseLong(m.group(3));
        int lanes = Integer.parseInt(m.group(4));
        if (passes < 1 || passes > Integer.MAX_VALUE || lanes < 1 || memory < 8L * lanes
                || memory > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("{" + name + "} has Argon2 costs out of range");
        }
        checkHeap(memory, name);
        Costs.require(memory * passes <= Costs.MAX_ARGON2_KIB_PASSES, name,
                "m=" + memory + ",t=" + passes + " (memory times passes)",
                "m*t=" + Costs.MAX_ARGON2_KIB_PASSES + " KiB, e.g. m=65536,t=6");
        byte[] salt = Base64.getDecoder().decode(m.group(5));
        byte[] hash = Base64.getDecoder().decode(m.group(6));
        int t = (int) passes;
        int mem = (int) memory;
        return Check.costing(Costs.argon2(mem, t), password -> {
            byte[] made = compute(type, t, mem, lanes, salt, password, hash.length);
            try {
                return MessageDigest.isEqual(made, hash);
            } finally {
                Arrays.fill(made, (byte) 0);
            }
        });
    }

    /**
     * The heap that Argon2 checks running at once may share, in KiB of Argon2 memory: what
     * {@link #checkHeap} allows one check. Made at the first check.
     */
    private static final class HeapShare {
        static final java.util.concurrent.Semaphore PERMITS = new java.util.concurrent.Semaphore(
                (int) Math.min(Integer.MAX_VALUE, Runtime.getRuntime().maxMemory() / 4 * 3 / 1056), true);
    }

    /**
     * Refuses a memory cost the heap cannot hold: Bouncy Castle keeps each 1 KiB block as an object
     * of about 1056 bytes, and the helper usually runs with a small {@code -Xmx} (with -Xmx64m,
     * 32 MiB fits and 64 MiB does not).
     */
    private static void checkHeap(long memoryKiB, String name) {
        long needed = memoryKiB * 1056;
        long allowed = Runtime.getRuntime().maxMemory() / 4 * 3;
        if (needed > allowed) {
            // needed rounded up and allowed down, so that the figures never read as if it fit
            throw new IllegalArgumentException("{" + name + "} m=" + memoryKiB + " KiB needs "
                    + ceilMiB(needed) + " MiB of heap, more than the " + allowed / 1_048_576
                    + " MiB this JVM allows for it (three quarters of -Xmx); raise -Xmx or use a cheaper hash");
        }
    }

    private static long ceilMiB(long bytes) {
        return (bytes + 1_048_575) / 1_048_576;
    }

    /**
     * libsodium's native memory where it computes; else Bouncy Castle's heap. Checks run on several
     * threads: together they may not ask for more memory than one may (three quarters of -Xmx),
     * native or heap, so that a daemon's footprint under a burst of Argon2 logins stays bounded.
     */
    private static byte[] compute(int type, int passes, int memoryKiB, int lanes, byte[] salt,
            byte[] password, int length) {
        HeapShare.PERMITS.acquireUninterruptibly(memoryKiB);
        try {
            Optional<byte[]> made = SodiumArgon2.hash(type == Argon2Parameters.ARGON2_id, passes,
                    memoryKiB, lanes, salt, password, length);
            if (made.isPresent()) {
                return made.get();
            }
            return bouncyCastle(type, passes, memoryKiB, lanes, salt, password, length);
        } finally {
            HeapShare.PERMITS.release(memoryKiB);
        }
    }

    static byte[] bouncyCastle(int type, int passes, int memoryKiB, int lanes, byte[] salt,
            byte[] password, int length) {
        Argon2Parameters params = new Argon2Parameters.Builder(type)
                .withVersion(Argon2Parameters.ARGON2_VERSION_13)
                .withIterations(passes)
                .withMemoryAsKB(memoryKiB)
                .withParallelism(lanes)
                .withSalt(salt)
                .build();
        Argon2BytesGenerator generator = new Argon2BytesGenerator();
        generator.init(params);
        byte[] out = new byte[length];
        generator.generateBytes(password, out);
        return out;
    }

    @Override
    public byte[] generate(byte[] password, Params params) {
        int passes = params.roundsOr(defaultPasses, minPasses, (int) (Costs.MAX_ARGON2_KIB_PASSES / memoryKiB),
                name + " time cost");
        checkHeap(memoryKiB, name);
        byte[] salt = Salts.bytes(16);
        int type = variant.equals("argon2id") ? Argon2Parameters.ARGON2_id : Argon2Parameters.ARGON2_i;
        byte[] hash = compute(type, passes, memoryKiB, 1, salt, password, 32);
        Base64.Encoder b64 = Base64.getEncoder().withoutPadding();
        String phc = "$" + variant + "$v=19$m=" + memoryKiB + ",t=" + passes + ",p=1$"
                + b64.encodeToString(salt) + "$" + b64.encodeToString(hash);
        Arrays.fill(hash, (byte) 0);
        return phc.getBytes(StandardCharsets.US_ASCII);
    }
}
