package org.saslauth;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Properties;
import org.saslauth.protocol.Log;

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
        String config = null;
        for (int i = 0; i < args.length; i++) {
            String v = value(args, i, "--log-file");
            if (v != null) {
                return Path.of(v);
            }
            String c = value(args, i, "--config");
            if (c != null) {
                config = c;
            }
        }
        if (config == null) {
            return null;
        }
        try {
            Properties props = Saslauth.ConfigFile.read(Path.of(config));
            String v = props.getProperty("log-file");
            return v == null || v.isBlank() ? null : Path.of(v.strip());
        } catch (Saslauth.ConfigFile.Invalid | RuntimeException e) {
            return null;
        }
    }

    private static String value(String[] args, int i, String option) {
        if (args[i].equals(option) && i + 1 < args.length) {
            return args[i + 1];
        }
        if (args[i].startsWith(option + "=")) {
            return args[i].substring(option.length() + 1);
        }
        return null;
    }
}
