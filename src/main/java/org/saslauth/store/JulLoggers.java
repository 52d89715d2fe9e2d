package org.saslauth.store;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Libraries that log through java.util.logging (the PostgreSQL driver, the JDK's LDAP
 * provider) would write to standard error, which under spawn(8) is smtpd's socket. Their
 * loggers are switched off and held here, since java.util.logging keeps them only weakly.
 */
final class JulLoggers {

    private static final List<Logger> HELD = new ArrayList<>();

    private JulLoggers() {}

    static synchronized void off(String name) {
        Logger logger = Logger.getLogger(name);
        logger.setLevel(Level.OFF);
        HELD.add(logger);
    }
}
