package org.saslauth.password;

import static org.saslauth.Log.LOG;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Array;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.Optional;
import org.saslauth.os.Libc.Unavailable;

/**
 * Argon2 through libsodium's {@code crypto_pwhash}, as Dovecot computes it: its optimized C is
 * two to six times as fast as Bouncy Castle's Java in a helper (C1-compiled), and its memory is
 * native (allocated and freed by libsodium within the call), not heap.
 *
 * <p>libsodium is reached through JNA on every Java version ({@code os/Sodium}, as libxcrypt
 * and syslog are), else through the Foreign Function &amp; Memory API on Java 22 and later,
 * reached by reflection and method handles since saslauth compiles for Java 17. Either is set up
 * once, at the first Argon2 check. Wherever neither can be used (no libsodium, a missing symbol,
 * JNA's native part refused and no FFM API, native access not enabled) {@link #hash} returns
 * empty and Bouncy Castle computes, without a word on stderr: only a debug line in the log says
 * which one runs. The system property {@code saslauth.native} ({@code jna} or {@code ffm})
 * picks one, for tests. For FFM, native access is enabled by the jar's manifest
 * ({@code Enable-Native-Access: ALL-UNNAMED}, read under {@code java -jar}); without it the JDK
 * would print a warning at the first restricted call, so the check
 * {@code Module.isNativeAccessEnabled()} comes before any.
 *
 * <p>libsodium computes what Dovecot's hashes use and nothing else: one lane ({@code p=1}),
 * salts of {@code crypto_pwhash_SALTBYTES} (16) bytes, version 0x13, and the limits its own
 * functions report ({@code crypto_pwhash_argon2id_opslimit_min()} and so on: at least 3 passes
 * for argon2i and 1 for argon2id, at least 8 KiB, hashes of at least 16 bytes). Any other
 * string, and any call that returns an error, is left to Bouncy Castle.
 */
final class SodiumArgon2 {

    /** The sonames tried, in order: Debian's and Ubuntu's libsodium23, then a development link. */
    private static final String[] LIBRARIES = {"libsodium.so.23", "libsodium.so"};

    /** One variant's algorithm number and libsodium's limits for it. */
    private record Variant(int alg, long opsMin, long opsMax, long memMin, long memMax,
            long bytesMin, long bytesMax, long saltBytes, long passwdMax) {

        /** Why libsodium cannot compute this string, or empty when it can. */
        Optional<String> refusal(long passes, long memoryBytes, int lanes, int saltLength, int length,
                int passwordLength) {
            if (lanes != 1) {
                return Optional.of("p=" + lanes + " (libsodium computes p=1 only)");
            }
            if (saltLength != saltBytes) {
                return Optional.of("a " + saltLength + "-byte salt (libsodium takes " + saltBytes + " bytes)");
            }
            if (passes < opsMin || passes > opsMax) {
                return Optional.of("t=" + passes + " (libsodium takes " + opsMin + " to " + opsMax + ")");
            }
            if (memoryBytes < memMin || memoryBytes > memMax) {
                return Optional.of("m=" + memoryBytes / 1024 + " KiB (libsodium takes " + memMin / 1024
                        + " to " + memMax / 1024 + ")");
            }
            if (length < bytesMin || length > bytesMax) {
                return Optional.of("a " + length + "-byte hash (libsodium makes " + bytesMin + " bytes or more)");
            }
            if (passwordLength > passwdMax) {
                return Optional.of("a password over libsodium's length limit");
            }
            return Optional.empty();
        }
    }

    private final Variant argon2i;
    private final Variant argon2id;
    private final Natives natives;

    /** One way to libsodium's functions: JNA, or the FFM API. */
    private interface Natives {
        /** {@code JNA} or {@code FFM}, for the debug line */
        String kind();

        /** A function without arguments returning an {@code int}. */
        int callInt(String name) throws Throwable;

        /** A function without arguments returning a {@code size_t}. */
        long callSize(String name) throws Throwable;

        /** {@code crypto_pwhash} into {@code out}: 0 when it holds the hash; native copies wiped. */
        int pwhash(byte[] out, byte[] password, byte[] salt, long passes, long memoryBytes, int alg) throws Throwable;
    }

    /** libsodium, or why not: made at the first Argon2 check. */
    private static final class Binding {
        static final SodiumArgon2 SODIUM;
        static final String WHY_NOT;

        static {
            SodiumArgon2 sodium = null;
            StringBuilder whyNot = new StringBuilder();
            String forced = System.getProperty("saslauth.native", "");
            if (!forced.equals("ffm")) {
                try {
                    sodium = new SodiumArgon2(JnaNatives.load());
                } catch (Unavailable e) {
                    whyNot.append("JNA: ").append(e.getMessage());
                } catch (Throwable e) {
                    whyNot.append("JNA failed: ").append(e.getCause() != null ? e.getCause() : e);
                }
            }
            if (sodium == null && !forced.equals("jna")) {
                String ffm;
                try {
                    sodium = new SodiumArgon2(FfmNatives.load());
                    ffm = "";
                } catch (Unavailable e) {
                    ffm = e.getMessage();
                } catch (Throwable e) {
                    // a SecurityException or IllegalCallerException, wrapped or not, or anything
                    // else: Bouncy Castle still computes
                    ffm = "the FFM API failed: " + (e.getCause() != null ? e.getCause() : e);
                }
                if (sodium == null) {
                    whyNot.append(whyNot.length() == 0 ? "" : "; ").append(ffm);
                }
            }
            SODIUM = sodium;
            WHY_NOT = sodium == null ? whyNot.toString() : "";
            if (sodium != null) {
                LOG.debug("Argon2 through libsodium's crypto_pwhash ({})", sodium.natives.kind());
            } else {
                LOG.debug("Argon2 through Bouncy Castle: {}", WHY_NOT);
            }
        }
    }

    private SodiumArgon2(Natives natives) throws Throwable {
        this.natives = natives;
        this.argon2i = variant(natives, "argon2i");
        this.argon2id = variant(natives, "argon2id");
    }

    /** Whether Argon2 goes through libsodium in this JVM (sets it up on the first call). */
    static boolean available() {
        return Binding.SODIUM != null;
    }

    /** Why Argon2 does not go through libsodium in this JVM, or "" when it does. */
    static String whyNot() {
        return Binding.WHY_NOT;
    }

    /**
     * The Argon2 v1.3 hash of {@code password}, or empty when libsodium cannot compute it here
     * (then the caller computes it with Bouncy Castle). Wipes its own copies of the password and
     * of the hash; the caller wipes the array it gets.
     *
     * @param id argon2id, else argon2i
     */
    static Optional<byte[]> hash(boolean id, int passes, int memoryKiB, int lanes, byte[] salt,
            byte[] password, int length) {
        SodiumArgon2 sodium = Binding.SODIUM;
        if (sodium == null) {
            return Optional.empty();
        }
        Variant variant = id ? sodium.argon2id : sodium.argon2i;
        long memoryBytes = memoryKiB * 1024L;
        Optional<String> refusal = variant.refusal(passes, memoryBytes, lanes, salt.length, length, password.length);
        if (refusal.isPresent()) {
            LOG.debug("{} {}: computed by Bouncy Castle", id ? "argon2id" : "argon2i", refusal.get());
            return Optional.empty();
        }
        try {
            return sodium.call(variant.alg(), passes, memoryBytes, salt, password, length);
        } catch (VirtualMachineError e) {
            throw e;
        } catch (Throwable e) {
            failed("libsodium's crypto_pwhash failed (" + e + "); Argon2 computed by Bouncy Castle");
            return Optional.empty();
        }
    }

    /** Failures logged as warnings at most once a minute (then at debug): never a line per login. */
    private static final java.util.concurrent.atomic.AtomicLong LAST_WARNING =
            new java.util.concurrent.atomic.AtomicLong(System.nanoTime() - 120_000_000_000L);

    private static void failed(String what) {
        long now = System.nanoTime();
        long last = LAST_WARNING.get();
        if (now - last >= 60_000_000_000L && LAST_WARNING.compareAndSet(last, now)) {
            LOG.warn(what);
        } else {
            LOG.debug(what);
        }
    }

    private Optional<byte[]> call(int alg, int passes, long memoryBytes, byte[] salt, byte[] password,
            int length) throws Throwable {
        byte[] out = new byte[length];
        int status = natives.pwhash(out, password, salt, passes, memoryBytes, alg);
        if (status != 0) {
            failed("libsodium's crypto_pwhash returned " + status
                    + " (out of memory?); Argon2 computed by Bouncy Castle");
            return Optional.empty();
        }
        return Optional.of(out);
    }

    /** The algorithm number and limits libsodium reports for {@code argon2i} or {@code argon2id}. */
    private static Variant variant(Natives natives, String name) throws Throwable {
        String prefix = "crypto_pwhash_" + name + "_";
        int alg = natives.callInt("crypto_pwhash_alg_" + name + "13");
        long[] limits = new long[8];
        String[] names = {"opslimit_min", "opslimit_max", "memlimit_min", "memlimit_max",
            "bytes_min", "bytes_max", "saltbytes", "passwd_max"};
        for (int i = 0; i < names.length; i++) {
            limits[i] = natives.callSize(prefix + names[i]);
        }
        return new Variant(alg, limits[0], limits[1], limits[2], limits[3], limits[4], limits[5],
                limits[6], limits[7]);
    }

    /** libsodium through JNA ({@code os/Sodium}): its classes load only here. */
    private static final class JnaNatives implements Natives {
        private final org.saslauth.os.Sodium sodium;

        private JnaNatives(org.saslauth.os.Sodium sodium) {
            this.sodium = sodium;
        }

        static Natives load() throws Unavailable {
            return new JnaNatives(org.saslauth.os.Sodium.load(LIBRARIES));
        }

        @Override
        public String kind() {
            return "JNA";
        }

        @Override
        public int callInt(String name) throws Throwable {
            return sodium.callInt(name);
        }

        @Override
        public long callSize(String name) throws Throwable {
            return sodium.callSize(name);
        }

        @Override
        public int pwhash(byte[] out, byte[] password, byte[] salt, long passes, long memoryBytes, int alg) {
            return sodium.pwhash(out, password, salt, passes, memoryBytes, alg);
        }
    }

    // --- the FFM API, by reflection -------------------------------------------------------------

    /** libsodium through the FFM API (Java 22 and later), where JNA cannot load. */
    private static final class FfmNatives implements Natives {
        private final Downcalls downcalls;
        private final Object javaInt;
        private final Object javaLong;
        /** {@code int crypto_pwhash(out, outlen, passwd, passwdlen, salt, opslimit, memlimit, alg)} */
        private final MethodHandle pwhash;
        /** {@code Arena.ofConfined()} */
        private final MethodHandle ofConfined;
        /** {@code arena.allocate(long)}: zeroed native memory, freed when the arena closes */
        private final MethodHandle allocate;
        /** {@code arena.close()} */
        private final MethodHandle close;
        /** {@code MemorySegment.ofArray(byte[])}: a view of the array, no copy */
        private final MethodHandle ofArray;
        /** {@code segment.copyFrom(segment)} */
        private final MethodHandle copyFrom;
        /** {@code segment.fill(byte)} */
        private final MethodHandle fill;

        private FfmNatives(Downcalls downcalls, Object javaInt, Object javaLong, Map<String, MethodHandle> h) {
            this.downcalls = downcalls;
            this.javaInt = javaInt;
            this.javaLong = javaLong;
            this.pwhash = h.get("pwhash");
            this.ofConfined = h.get("ofConfined");
            this.allocate = h.get("allocate");
            this.close = h.get("close");
            this.ofArray = h.get("ofArray");
            this.copyFrom = h.get("copyFrom");
            this.fill = h.get("fill");
        }

        @Override
        public String kind() {
            return "FFM";
        }

        @Override
        public int callInt(String name) throws Throwable {
            return (int) downcalls.handle(name, javaInt).invoke();
        }

        @Override
        public long callSize(String name) throws Throwable {
            return (long) downcalls.handle(name, javaLong).invoke();
        }

        @Override
        public int pwhash(byte[] out, byte[] password, byte[] salt, long passes, long memoryBytes, int alg)
                throws Throwable {
            Object arena = ofConfined.invoke();
            Object made = null;
            Object passwd = null;
            try {
                made = allocate.invoke(arena, (long) out.length);
                // at least one byte: a zero-length allocation need not have an address of its own
                passwd = allocate.invoke(arena, (long) Math.max(1, password.length));
                Object saltCopy = allocate.invoke(arena, (long) salt.length);
                copyFrom.invoke(passwd, ofArray.invoke(password));
                copyFrom.invoke(saltCopy, ofArray.invoke(salt));
                int status = (int) pwhash.invoke(made, (long) out.length, passwd, (long) password.length, saltCopy,
                        passes, memoryBytes, alg);
                if (status == 0) {
                    copyFrom.invoke(ofArray.invoke(out), made);
                }
                return status;
            } finally {
                try {
                    if (passwd != null) {
                        fill.invoke(passwd, (byte) 0);
                    }
                    if (made != null) {
                        fill.invoke(made, (byte) 0);
                    }
                } finally {
                    close.invoke(arena);
                }
            }
        }

        static Natives load() throws Throwable {
            if (Runtime.version().feature() < 22) {
                throw new Unavailable("Java " + Runtime.version().feature() + " has no FFM API (Java 22 and later)");
            }
            if (!nativeAccessEnabled()) {
                throw new Unavailable("native access is not enabled for saslauth (run it with java -jar,"
                        + " whose manifest enables it, or with --enable-native-access=ALL-UNNAMED)");
            }
            Class<?> linkerClass = Class.forName("java.lang.foreign.Linker");
            Class<?> optionClass = Class.forName("java.lang.foreign.Linker$Option");
            Class<?> lookupClass = Class.forName("java.lang.foreign.SymbolLookup");
            Class<?> arenaClass = Class.forName("java.lang.foreign.Arena");
            Class<?> allocatorClass = Class.forName("java.lang.foreign.SegmentAllocator");
            Class<?> segmentClass = Class.forName("java.lang.foreign.MemorySegment");
            Class<?> layoutClass = Class.forName("java.lang.foreign.MemoryLayout");
            Class<?> valueLayoutClass = Class.forName("java.lang.foreign.ValueLayout");
            Class<?> descriptorClass = Class.forName("java.lang.foreign.FunctionDescriptor");

            Object linker = linkerClass.getMethod("nativeLinker").invoke(null);
            Object layouts = linkerClass.getMethod("canonicalLayouts").invoke(linker);
            Object sizeT = ((Map<?, ?>) layouts).get("size_t");
            long sizeTBytes = (long) layoutClass.getMethod("byteSize").invoke(sizeT);
            if (sizeTBytes != 8) {
                throw new Unavailable("size_t is " + sizeTBytes + " bytes here (8 expected)");
            }
            Object javaInt = valueLayoutClass.getField("JAVA_INT").get(null);
            Object javaLong = valueLayoutClass.getField("JAVA_LONG").get(null);
            Object address = valueLayoutClass.getField("ADDRESS").get(null);

            Object library = library(lookupClass, arenaClass);
            Method find = lookupClass.getMethod("find", String.class);
            Method of = descriptorClass.getMethod("of", layoutClass, layoutClass.arrayType());
            Method downcall = linkerClass.getMethod("downcallHandle", segmentClass, descriptorClass,
                    optionClass.arrayType());
            Object noOptions = Array.newInstance(optionClass, 0);
            Downcalls downcalls = (name, result, arguments) -> {
                Optional<?> symbol = (Optional<?>) find.invoke(library, name);
                if (symbol.isEmpty()) {
                    throw new Unavailable("libsodium has no " + name);
                }
                Object parameters = Array.newInstance(layoutClass, arguments.length);
                for (int i = 0; i < arguments.length; i++) {
                    Array.set(parameters, i, arguments[i]);
                }
                Object descriptor = of.invoke(null, result, parameters);
                return (MethodHandle) downcall.invoke(linker, symbol.get(), descriptor, noOptions);
            };

            int init = (int) downcalls.handle("sodium_init", javaInt).invoke();
            if (init != 0 && init != 1) {
                throw new Unavailable("sodium_init() returned " + init);
            }
            MethodHandles.Lookup lookup = MethodHandles.publicLookup();
            Map<String, MethodHandle> handles = Map.of(
                    "pwhash", downcalls.handle("crypto_pwhash", javaInt,
                            address, javaLong, address, javaLong, address, javaLong, sizeT, javaInt),
                    "ofConfined", lookup.findStatic(arenaClass, "ofConfined", MethodType.methodType(arenaClass)),
                    "allocate", lookup.findVirtual(allocatorClass, "allocate",
                            MethodType.methodType(segmentClass, long.class)),
                    "close", lookup.findVirtual(arenaClass, "close", MethodType.methodType(void.class)),
                    "ofArray", lookup.findStatic(segmentClass, "ofArray",
                            MethodType.methodType(segmentClass, byte[].class)),
                    "copyFrom", lookup.findVirtual(segmentClass, "copyFrom",
                            MethodType.methodType(segmentClass, segmentClass)),
                    "fill", lookup.findVirtual(segmentClass, "fill", MethodType.methodType(segmentClass, byte.class)));
            return new FfmNatives(downcalls, javaInt, javaLong, handles);
        }

        /** libsodium, loaded for the life of the JVM. */
        private static Object library(Class<?> lookupClass, Class<?> arenaClass)
                throws Unavailable, ReflectiveOperationException {
            Object global = arenaClass.getMethod("global").invoke(null);
            Method libraryLookup = lookupClass.getMethod("libraryLookup", String.class, arenaClass);
            for (String name : LIBRARIES) {
                try {
                    return libraryLookup.invoke(null, name, global);
                } catch (InvocationTargetException e) {
                    if (!(e.getCause() instanceof IllegalArgumentException)) {
                        throw e;
                    }
                    // not found: the next name
                }
            }
            throw new Unavailable("no libsodium (" + String.join(", ", LIBRARIES) + "; Debian's package libsodium23)");
        }

        /** {@code Module.isNativeAccessEnabled()} (Java 22) for saslauth's module. */
        private static boolean nativeAccessEnabled() throws ReflectiveOperationException {
            Module module = SodiumArgon2.class.getModule();
            return (boolean) Module.class.getMethod("isNativeAccessEnabled").invoke(module);
        }
    }

    /** Makes a downcall handle to one of libsodium's functions. */
    @FunctionalInterface
    private interface Downcalls {
        MethodHandle handle(String name, Object result, Object... arguments)
                throws Unavailable, ReflectiveOperationException;
    }
}
