package org.saslauth;

import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Sets up slf4j-simple before the first logger exists. slf4j-simple writes to {@code System.err}
 * (and would truncate a file it opened itself), so {@code System.err} becomes the log file,
 * opened for appending since every smtpd's helper shares it, or a sink when there is no log
 * file. In serving mode this also keeps any stray JVM or library output off the socket.
 */
final class Logging {

    static final String[] LEVELS = {"trace", "debug", "info", "warn", "error", "off"};

    private Logging() {}

    /**
     * @param logFile where to append log lines, or null to drop them
     * @throws IOException when the log file cannot be opened for appending
     */
    static void toFile(Path logFile, String level) throws IOException {
        OutputStream target = logFile == null
                ? OutputStream.nullOutputStream()
                : new BufferedOutputStream(new FileOutputStream(logFile.toFile(), true), 4096);
        System.setErr(new PrintStream(target, false, StandardCharsets.UTF_8));
        configure(logFile == null ? "off" : level);
    }

    /** For the admin subcommands: warnings and errors to the terminal. */
    static void toTerminal(String level) {
        configure(level);
    }

    private static void configure(String level) {
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", level);
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
        System.setProperty("org.slf4j.simpleLogger.showThreadName", "false");
        System.setProperty("org.slf4j.simpleLogger.levelInBrackets", "false");
    }
}
