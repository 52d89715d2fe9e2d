package org.saslauth.cli;

import java.io.IOException;
import java.nio.file.Path;
import org.saslauth.Log;

/**
 * An error before serving starts, under spawn(8): stderr is smtpd's socket and nobody reads it,
 * so the message goes to the log file the command line or its config file names, if any. The
 * exit status still shows in Postfix's log.
 */
final class StartupLog {

    private StartupLog() {}

    static void error(String[] args, String message) {
        error(logFile(args), message);
    }

    static void error(Path logFile, String message) {
        if (logFile == null) {
            return;
        }
        try {
            Logging.toFile(logFile, "error");
            Log.LOG.error("cannot start: {}", message);
            Logging.flush();
        } catch (IOException | RuntimeException e) {
            // no log file to tell: the exit status is all there is
        }
    }

    /** {@code --log-file} from the arguments, else {@code log-file} from {@code --config}. */
    static Path logFile(String[] args) {
        String v = ServingArgs.find(args, ServingOption.LOG_FILE);
        return v == null || v.isEmpty() ? null : Path.of(v);
    }
}
