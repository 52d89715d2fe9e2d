package org.saslauth.store;

import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.saslauth.servers.PostgresServer;

/** passdb sql against a real PostgreSQL 15 started for this class. */
class PostgresStoreIT extends SqlStoreContract {

    static PostgresServer pg;

    @BeforeAll
    static void start() throws Exception {
        pg = PostgresServer.start();
        pg.sql("postgres", "CREATE DATABASE mail;");
        pg.sql("mail", schema("boolean", "true") + usersSql()
                + "CREATE ROLE saslauth LOGIN PASSWORD '" + DB_PASSWORD + "';\n"
                + "GRANT SELECT ON mailbox, twice TO saslauth;\n"
                + "GRANT SELECT, UPDATE ON app_passwords TO saslauth;\n");
    }

    @AfterAll
    static void stop() {
        if (pg != null) {
            pg.close();
        }
    }

    @Override
    String url() {
        return pg.url("mail");
    }

    @Override
    String sql(String statements) throws Exception {
        return pg.sql("mail", statements);
    }

    @Override
    void stopServer() throws Exception {
        pg.stop();
    }

    @Override
    void startServer() throws Exception {
        pg.startAgain();
    }

    @Override
    List<Long> serverPids() throws Exception {
        return withChildren(pg.pid());
    }
}
