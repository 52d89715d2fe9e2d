package org.saslauth.cli;

import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Optional;
import org.saslauth.Log;

/**
 * An error before serving starts, under spawn(8): stderr is smtpd's socket and nobody reads it,
 * so the message goes to the log file the command line or its config file names, if any. The
 * exit status still shows in Postfix's log.
 */
final class StartupLog {

    private StartupLog() {}

    static void error(String[] args, java.util.Map<String, String> config, String message) {
        logFile(args, config).ifPresent(file -> error(file, message));
    }

    static void error(Path logFile, String message) {
        try {
            Logging.toFile(logFile, "error");
            Log.LOG.error("cannot start: {}", message);
            Logging.flush();
        } catch (IOException | RuntimeException e) {
            // no log file to tell: the exit status is all there is
        }
    }

    /** {@code --log-file} from the arguments, else {@code log-file} from the config file's keys. */
    static Optional<Path> logFile(String[] args, java.util.Map<String, String> config) {
        try {
            return ServingArgs.find(args, ServingOption.LOG_FILE, config).filter(v -> !v.isEmpty()).map(Path::of);
        } catch (InvalidPathException e) {
            return Optional.empty();
        }
    }
}
