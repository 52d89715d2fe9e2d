package org.saslauth.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** The version from the pom, filtered into {@code saslauth.properties} at build time. */
final class Version implements IVersionProvider {

    @Override
    public String[] getVersion() throws IOException {
        Properties p = new Properties();
        try (InputStream in = Version.class.getResourceAsStream("/saslauth.properties")) {
            if (in != null) {
                p.load(in);
            }
        }
        return new String[] {"saslauth " + p.getProperty("version", "unknown")};
    }
}
