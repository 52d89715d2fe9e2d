package org.saslauth.os;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Array;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.Optional;

/**
 * The C library through the Foreign Function &amp; Memory API of Java 22 and later, reached by
 * reflection and method handles once (saslauth compiles for Java 17), as
 * {@code password/SodiumArgon2} reaches libsodium. Every downcall captures {@code errno}
 * ({@code Linker.Option.captureCallState("errno")}), so that a failure returns {@code -errno}.
 * Native access must be enabled (the jar's manifest does it under {@code java -jar}): without
 * it the JDK would warn on stderr at the first restricted call, so it is checked first.
 */
final class FfmLibc extends Libc {

    private final MethodHandle socket;
    private final MethodHandle connect;
    private final MethodHandle send;
    private final MethodHandle close;
    /** {@code Arena.ofConfined()} */
    private final MethodHandle ofConfined;
    /** {@code arena.allocate(long)} */
    private final MethodHandle allocate;
    /** {@code arena.close()} */
    private final MethodHandle closeArena;
    /** {@code MemorySegment.ofArray(byte[])} */
    private final MethodHandle ofArray;
    /** {@code segment.copyFrom(segment)} */
    private final MethodHandle copyFrom;
    /** {@code segment.asSlice(long, long)} */
    private final MethodHandle asSlice;
    /** {@code segment.get(ValueLayout.JAVA_INT, long)} */
    private final MethodHandle getInt;
    /** The size of the call state, and where errno is in it. */
    private final long stateSize;
    private final long errnoOffset;
    /** Opens libxcrypt and makes {@code crypt_rn}'s handle: at the first {@link #crypt}, not at load. */
    private final CryptMaker cryptMaker;
    /** libxcrypt's {@code crypt_rn} once made, or null with {@link #cryptWhyNot} saying why. */
    private MethodHandle cryptRn;
    private String cryptWhyNot;
    /** {@code segment.fill(byte)} */
    private final MethodHandle fill;
    /** {@code segment.address()} */
    private final MethodHandle address;

    private FfmLibc(Map<String, MethodHandle> h, long stateSize, long errnoOffset, CryptMaker cryptMaker) {
        this.socket = h.get("socket");
        this.connect = h.get("connect");
        this.send = h.get("send");
        this.close = h.get("close");
        this.ofConfined = h.get("ofConfined");
        this.allocate = h.get("allocate");
        this.closeArena = h.get("closeArena");
        this.ofArray = h.get("ofArray");
        this.copyFrom = h.get("copyFrom");
        this.asSlice = h.get("asSlice");
        this.getInt = h.get("getInt");
        this.stateSize = stateSize;
        this.errnoOffset = errnoOffset;
        this.fill = h.get("fill");
        this.address = h.get("address");
        this.cryptMaker = cryptMaker;
    }

    /** {@code crypt_rn}'s handle, made once. */
    private synchronized MethodHandle cryptRn() throws Unavailable {
        if (cryptRn == null && cryptWhyNot == null) {
            try {
                cryptRn = cryptMaker.make();
            } catch (Unavailable e) {
                cryptWhyNot = e.getMessage();
            } catch (ReflectiveOperationException e) {
                cryptWhyNot = "no " + LIBCRYPT + " (libxcrypt): "
                        + (e.getCause() != null ? e.getCause().getMessage() : e.toString());
            }
        }
        if (cryptRn == null) {
            throw new Unavailable(cryptWhyNot);
        }
        return cryptRn;
    }

    @FunctionalInterface
    private interface CryptMaker {
        MethodHandle make() throws Unavailable, ReflectiveOperationException;
    }

    @Override
    public byte[] crypt(byte[] phrase, byte[] setting) throws Unavailable {
        MethodHandle cryptRn = cryptRn();
        try {
            Object arena = ofConfined.invoke();
            try {
                Object p = terminated(arena, phrase);
                Object data = allocate.invoke(arena, (long) CRYPT_DATA_SIZE);
                try {
                    Object made = cryptRn.invoke(p, terminated(arena, setting), data, CRYPT_DATA_SIZE);
                    if ((long) address.invoke(made) == 0) {
                        return null;
                    }
                    byte[] out = new byte[CRYPT_OUTPUT_SIZE];
                    copyFrom.invoke(ofArray.invoke(out), asSlice.invoke(data, 0L, (long) CRYPT_OUTPUT_SIZE));
                    return cryptOutput(out);
                } finally {
                    fill.invoke(p, (byte) 0);
                    fill.invoke(data, (byte) 0);
                }
            } finally {
                closeArena.invoke(arena);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code bytes} and a NUL in native memory of {@code arena} (zeroed when allocated). */
    private Object terminated(Object arena, byte[] bytes) throws Throwable {
        Object segment = allocate.invoke(arena, bytes.length + 1L);
        if (bytes.length > 0) {
            copyFrom.invoke(asSlice.invoke(segment, 0L, (long) bytes.length), ofArray.invoke(bytes));
        }
        return segment;
    }

    @Override
    public String kind() {
        return "FFM";
    }

    @Override
    public int socket(int domain, int type, int protocol) {
        return (int) call(state -> (long) (int) socket.invoke(state, domain, type, protocol));
    }

    @Override
    public int connect(int fd, byte[] address) {
        return (int) call((arena, state) -> {
            Object native_ = copy(arena, address, address.length);
            return (long) (int) connect.invoke(state, fd, native_, address.length);
        });
    }

    @Override
    public long send(int fd, byte[] data, int length, int flags) {
        return call((arena, state) -> {
            Object native_ = copy(arena, data, length);
            return (long) send.invoke(state, fd, native_, (long) length, flags);
        });
    }

    @Override
    public int close(int fd) {
        return (int) call(state -> (long) (int) close.invoke(state, fd));
    }

    /** {@code data[0..length)} in native memory of {@code arena} (at least one byte). */
    private Object copy(Object arena, byte[] data, int length) throws Throwable {
        Object segment = allocate.invoke(arena, (long) Math.max(1, length));
        if (length > 0) {
            copyFrom.invoke(segment, asSlice.invoke(ofArray.invoke(data), 0L, (long) length));
        }
        return segment;
    }

    @FunctionalInterface
    private interface Call {
        long invoke(Object arena, Object state) throws Throwable;
    }

    @FunctionalInterface
    private interface SimpleCall {
        long invoke(Object state) throws Throwable;
    }

    private long call(SimpleCall c) {
        return call((arena, state) -> c.invoke(state));
    }

    /** Runs a downcall with a fresh call state and arena: its result, or {@code -errno}. */
    private long call(Call c) {
        try {
            Object arena = ofConfined.invoke();
            try {
                Object state = allocate.invoke(arena, stateSize);
                long result = c.invoke(arena, state);
                return result < 0 ? -(int) getInt.invoke(state, errnoOffset) : result;
            } finally {
                closeArena.invoke(arena);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    // --- set-up, by reflection ------------------------------------------------------------------

    static FfmLibc load() throws Unavailable, ReflectiveOperationException {
        if (Runtime.version().feature() < 22) {
            throw new Unavailable("Java " + Runtime.version().feature() + " has no FFM API (Java 22 and later)");
        }
        Module module = FfmLibc.class.getModule();
        if (!(boolean) Module.class.getMethod("isNativeAccessEnabled").invoke(module)) {
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
        Class<?> pathClass = Class.forName("java.lang.foreign.MemoryLayout$PathElement");
        Class<?> valueLayoutClass = Class.forName("java.lang.foreign.ValueLayout");
        Class<?> ofIntClass = Class.forName("java.lang.foreign.ValueLayout$OfInt");
        Class<?> descriptorClass = Class.forName("java.lang.foreign.FunctionDescriptor");

        Object linker = linkerClass.getMethod("nativeLinker").invoke(null);
        Object lookup = linkerClass.getMethod("defaultLookup").invoke(linker);
        Object layouts = linkerClass.getMethod("canonicalLayouts").invoke(linker);
        Object sizeT = ((Map<?, ?>) layouts).get("size_t");
        if ((long) layoutClass.getMethod("byteSize").invoke(sizeT) != 8) {
            throw new Unavailable("size_t is not 8 bytes here");
        }
        Object javaInt = valueLayoutClass.getField("JAVA_INT").get(null);
        Object address = valueLayoutClass.getField("ADDRESS").get(null);

        // errno, captured right after each call, before the JVM can change it
        Object errnoOnly = Array.newInstance(String.class, 1);
        Array.set(errnoOnly, 0, "errno");
        Object capture = optionClass.getMethod("captureCallState", String[].class).invoke(null, errnoOnly);
        Object stateLayout = optionClass.getMethod("captureStateLayout").invoke(null);
        long stateSize = (long) layoutClass.getMethod("byteSize").invoke(stateLayout);
        Object path = Array.newInstance(pathClass, 1);
        Array.set(path, 0, pathClass.getMethod("groupElement", String.class).invoke(null, "errno"));
        long errnoOffset = (long) layoutClass.getMethod("byteOffset", path.getClass()).invoke(stateLayout, path);
        Object options = Array.newInstance(optionClass, 1);
        Array.set(options, 0, capture);

        Method find = lookupClass.getMethod("find", String.class);
        Method of = descriptorClass.getMethod("of", layoutClass, layoutClass.arrayType());
        Method downcall = linkerClass.getMethod("downcallHandle", segmentClass, descriptorClass,
                optionClass.arrayType());
        Downcalls downcalls = (name, result, arguments) -> {
            Optional<?> symbol = (Optional<?>) find.invoke(lookup, name);
            if (symbol.isEmpty()) {
                throw new Unavailable("the C library has no " + name);
            }
            Object parameters = Array.newInstance(layoutClass, arguments.length);
            for (int i = 0; i < arguments.length; i++) {
                Array.set(parameters, i, arguments[i]);
            }
            return (MethodHandle) downcall.invoke(linker, symbol.get(), of.invoke(null, result, parameters), options);
        };

        MethodHandles.Lookup handles = MethodHandles.publicLookup();
        Map<String, MethodHandle> h = Map.ofEntries(
                Map.entry("socket", downcalls.handle("socket", javaInt, javaInt, javaInt, javaInt)),
                Map.entry("connect", downcalls.handle("connect", javaInt, javaInt, address, javaInt)),
                Map.entry("send", downcalls.handle("send", sizeT, javaInt, address, sizeT, javaInt)),
                Map.entry("close", downcalls.handle("close", javaInt, javaInt)),
                Map.entry("ofConfined", handles.findStatic(arenaClass, "ofConfined", MethodType.methodType(arenaClass))),
                Map.entry("allocate", handles.findVirtual(allocatorClass, "allocate",
                        MethodType.methodType(segmentClass, long.class))),
                Map.entry("closeArena", handles.findVirtual(arenaClass, "close", MethodType.methodType(void.class))),
                Map.entry("ofArray", handles.findStatic(segmentClass, "ofArray",
                        MethodType.methodType(segmentClass, byte[].class))),
                Map.entry("copyFrom", handles.findVirtual(segmentClass, "copyFrom",
                        MethodType.methodType(segmentClass, segmentClass))),
                Map.entry("asSlice", handles.findVirtual(segmentClass, "asSlice",
                        MethodType.methodType(segmentClass, long.class, long.class))),
                Map.entry("getInt", MethodHandles.insertArguments(handles.findVirtual(segmentClass, "get",
                        MethodType.methodType(int.class, ofIntClass, long.class)), 1, javaInt)),
                Map.entry("fill", handles.findVirtual(segmentClass, "fill",
                        MethodType.methodType(segmentClass, byte.class))),
                Map.entry("address", handles.findVirtual(segmentClass, "address", MethodType.methodType(long.class))));

        // libxcrypt, opened for the JVM's life at the first crypt call (a syslog-only helper never
        // opens it); no errno: crypt_rn says null when it refuses
        CryptMaker crypt = () -> {
            Object global = arenaClass.getMethod("global").invoke(null);
            Object libcrypt = lookupClass.getMethod("libraryLookup", String.class, arenaClass)
                    .invoke(null, LIBCRYPT, global);
            Optional<?> symbol = (Optional<?>) find.invoke(libcrypt, "crypt_rn");
            if (symbol.isEmpty()) {
                throw new Unavailable(LIBCRYPT + " has no crypt_rn (not libxcrypt)");
            }
            Object parameters = Array.newInstance(layoutClass, 4);
            Array.set(parameters, 0, address);
            Array.set(parameters, 1, address);
            Array.set(parameters, 2, address);
            Array.set(parameters, 3, javaInt);
            return (MethodHandle) downcall.invoke(linker, symbol.get(), of.invoke(null, address, parameters),
                    Array.newInstance(optionClass, 0));
        };
        return new FfmLibc(h, stateSize, errnoOffset, crypt);
    }

    /** Makes a downcall handle to one of the C library's functions, capturing errno. */
    @FunctionalInterface
    private interface Downcalls {
        MethodHandle handle(String name, Object result, Object... arguments)
                throws Unavailable, ReflectiveOperationException;
    }
}
