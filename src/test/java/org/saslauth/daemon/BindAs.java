package org.saslauth.daemon;

import java.nio.file.Path;

/**
 * {@code BindAs SOCKET}: binds the socket file and says how it went, on stdout; for
 * {@link SocketFileTest} to run as another user than root ({@code setpriv}), with only the
 * classes directories on its class path (the test's jars lie in root's home).
 */
final class BindAs {

    private BindAs() {}

    public static void main(String[] args) throws Exception {
        try {
            SocketFile f = SocketFile.bind(Path.of(args[0]), new SocketFile.Access(SocketFile.parseMode("0660"), null, null));
            System.out.println("bound " + f.path());
            f.remove();
        } catch (SocketFile.Unusable e) {
            System.out.println(e.getMessage());
            System.exit(3);
        }
    }
}
