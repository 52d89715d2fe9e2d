package org.saslauth.servers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway OpenLDAP {@code slapd}: a generated {@code slapd.conf} (core, cosine,
 * inetorgperson and nis schemas, one mdb database), entries loaded with {@code slapadd}, run
 * in the foreground as an unprivileged user on a free loopback port. The service account
 * {@code cn=saslauth,ou=services,BASE} may read {@code userPassword}; anonymous may only bind.
 */
public final class SlapdServer implements AutoCloseable {

    public static final String BASE = "dc=example,dc=org";
    public static final String SERVICE_DN = "cn=saslauth,ou=services," + BASE;

    public final Path dir;
    public final int port;
    /** The ldaps:// port, or 0 without TLS. */
    public final int tlsPort;
    private final Path conf;
    private Process process;

    private SlapdServer(Path dir, int port, int tlsPort) {
        this.dir = dir;
        this.port = port;
        this.tlsPort = tlsPort;
        this.conf = dir.resolve("slapd.conf");
    }

    public static void require() {
        ServerProcess.require(Files.isExecutable(Path.of("/usr/sbin/slapd"))
                && Files.isExecutable(Path.of("/usr/sbin/slapadd")), "OpenLDAP (package slapd)");
    }

    /**
     * @param ldif the entries below the base (the base and {@code ou=services} come first)
     * @param servicePassword the service account's password
     */
    public static SlapdServer start(String ldif, String servicePassword) throws IOException {
        return start(ldif, servicePassword, false);
    }

    /**
     * @param tls whether to serve StartTLS and ldaps:// too, with a certificate for 127.0.0.1
     *     signed by a CA made here ({@link #caFile()})
     */
    public static SlapdServer start(String ldif, String servicePassword, boolean tls) throws IOException {
        require();
        Path dir = ServerProcess.tempDir("saslauth-slapd-");
        SlapdServer s = new SlapdServer(dir, ServerProcess.freePort(), tls ? ServerProcess.freePort() : 0);
        try {
            String tlsConf = "";
            if (tls) {
                s.makeCertificates();
                tlsConf = "TLSCACertificateFile " + dir.resolve("ca.pem") + "\n"
                        + "TLSCertificateFile " + dir.resolve("server.pem") + "\n"
                        + "TLSCertificateKeyFile " + dir.resolve("server.key") + "\n";
            }
            Path db = dir.resolve("db");
            Files.createDirectories(db);
            ServerProcess.chown(db);
            ServerProcess.write(s.conf, String.join("\n",
                    "include /etc/ldap/schema/core.schema",
                    "include /etc/ldap/schema/cosine.schema",
                    "include /etc/ldap/schema/inetorgperson.schema",
                    "include /etc/ldap/schema/nis.schema",
                    "pidfile " + dir.resolve("slapd.pid"),
                    tlsConf,
                    "modulepath /usr/lib/ldap",
                    "moduleload back_mdb",
                    "database mdb",
                    "maxsize 16777216",
                    "suffix \"" + BASE + "\"",
                    "rootdn \"cn=admin," + BASE + "\"",
                    "directory " + db,
                    "access to attrs=userPassword",
                    "  by dn.exact=\"" + SERVICE_DN + "\" read",
                    "  by anonymous auth",
                    "  by * none",
                    "access to *",
                    "  by * read",
                    ""));
            String all = "dn: " + BASE + "\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n"
                    + "dn: ou=services," + BASE + "\nobjectClass: organizationalUnit\nou: services\n\n"
                    + "dn: " + SERVICE_DN + "\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
                    + "cn: saslauth\nuserPassword: " + servicePassword + "\n\n"
                    + ldif;
            Path file = dir.resolve("entries.ldif");
            ServerProcess.write(file, all);
            ServerProcess.check(dir, "/usr/sbin/slapadd", "-f", s.conf.toString(), "-l", file.toString());
            s.startAgain();
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    public void startAgain() throws IOException {
        process = new ProcessBuilder(ServerProcess.asUser("/usr/sbin/slapd", "-d", "0", "-f", conf.toString(),
                "-h", tlsPort == 0 ? url() : url() + " " + tlsUrl()))
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("slapd.log").toFile()))
                .start();
        ServerProcess.awaitPort(port, Duration.ofSeconds(30), "slapd");
    }

    /** Stops the server at once. */
    public void stop() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    public long pid() {
        return process.pid();
    }

    /** The server's pid, or 0 while it is stopped. */
    public long pidOrZero() {
        return process == null ? 0 : process.pid();
    }

    public String url() {
        return "ldap://127.0.0.1:" + port;
    }

    public String tlsUrl() {
        return "ldaps://127.0.0.1:" + tlsPort;
    }

    /** The CA that signed the server's certificate, PEM. */
    public Path caFile() {
        return dir.resolve("ca.pem");
    }

    private void makeCertificates() throws IOException {
        ServerProcess.write(dir.resolve("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        ServerProcess.check(dir, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
                "-out", "ca.pem", "-days", "2", "-subj", "/CN=saslauth test CA");
        ServerProcess.check(dir, "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
                "-out", "server.csr", "-subj", "/CN=127.0.0.1");
        ServerProcess.check(dir, "openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext");
    }

    @Override
    public void close() {
        stop();
        ServerProcess.deleteTree(dir);
    }
}
