package org.saslauth;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This process's id, for the handshake's SPID and the log's tag. Read from {@code /proc/self}:
 * the first use of {@link ProcessHandle} starts the JDK's process-reaper thread pool and, on
 * Java 17, spins method handles, milliseconds before the handshake for a value the kernel
 * hands out as a symbolic link.
 */
public final class Pid {

    public static final long CURRENT = read();

    private Pid() {}

    private static long read() {
        try {
            return Long.parseLong(Files.readSymbolicLink(Path.of("/proc/self")).toString());
        } catch (IOException | RuntimeException e) {
            return ProcessHandle.current().pid();
        }
    }
}
