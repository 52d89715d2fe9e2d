package org.saslauth.e2e;

import java.io.IOException;
import java.nio.file.Path;

/**
 * {@code LoginAs SOCKET USER PASSWORD}: one PLAIN login on a daemon's socket, printing the
 * reply's first word ({@code OK}, {@code FAIL}) or why it could not connect. For
 * {@link DebianPackageIT} to connect as another user (postfix, as smtpd does), with only the
 * classes directories on its class path.
 */
final class LoginAs {

    private LoginAs() {}

    public static void main(String[] args) {
        try (AuthClient c = AuthClient.unix(Path.of(args[0]))) {
            c.handshake();
            c.send(AuthClient.authPlain(1, args[1], args[2]));
            String line = c.readLine();
            System.out.println(line == null ? "closed" : line.split("\t", 2)[0]);
        } catch (IOException e) {
            System.out.println("cannot connect: " + e.getMessage());
        }
    }
}
