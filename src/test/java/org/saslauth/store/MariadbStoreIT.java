package org.saslauth.store;

import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.saslauth.servers.MariadbServer;

/** passdb sql against a real MariaDB started for this class. */
class MariadbStoreIT extends SqlStoreContract {

    static MariadbServer db;

    @BeforeAll
    static void start() throws Exception {
        db = MariadbServer.start();
        db.sql(null, "CREATE DATABASE mail;");
        db.sql("mail", schema("tinyint(1)", "1") + usersSql()
                + "CREATE USER 'saslauth'@'%' IDENTIFIED BY '" + DB_PASSWORD + "';\n"
                + "GRANT SELECT ON mail.mailbox TO 'saslauth'@'%';\n"
                + "GRANT SELECT ON mail.twice TO 'saslauth'@'%';\n"
                + "GRANT SELECT, UPDATE ON mail.app_passwords TO 'saslauth'@'%';\n");
    }

    @AfterAll
    static void stop() {
        if (db != null) {
            db.close();
        }
    }

    @Override
    String url() {
        return db.url("mail");
    }

    @Override
    String sql(String statements) throws Exception {
        return db.sql("mail", statements);
    }

    @Override
    void stopServer() {
        db.stop();
    }

    @Override
    void startServer() throws Exception {
        db.startAgain();
    }

    @Override
    List<Long> serverPids() {
        return withChildren(db.pid());
    }
}
