package org.saslauth.daemon;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Sends what the daemon logs during a test class (slf4j-simple writes to {@code System.err},
 * looked up at every line) to {@code target/daemon-tests.log} instead of the console.
 */
final class LogToFile implements BeforeAllCallback, AfterAllCallback {

    private PrintStream saved;

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        Path file = Path.of(System.getProperty("basedir", "."), "target", "daemon-tests.log");
        Files.createDirectories(file.getParent());
        saved = System.err;
        System.setErr(new PrintStream(new FileOutputStream(file.toFile(), true), true, StandardCharsets.UTF_8));
        System.err.println("--- " + context.getDisplayName());
    }

    @Override
    public void afterAll(ExtensionContext context) {
        PrintStream file = System.err;
        System.setErr(saved);
        file.close();
    }
}
