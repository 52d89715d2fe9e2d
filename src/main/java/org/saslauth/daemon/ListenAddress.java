package org.saslauth.daemon;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;

/** A {@code --listen} value: {@code unix:PATH} or {@code tcp:HOST:PORT} ({@code tcp:[::1]:PORT}). */
public sealed interface ListenAddress {

    record Unix(Path path) implements ListenAddress {
        @Override
        public String toString() {
            return "unix:" + path;
        }
    }

    record Tcp(InetSocketAddress address) implements ListenAddress {
        /** Whether only this host can reach it. */
        public boolean loopback() {
            return address.getAddress().isLoopbackAddress();
        }

        @Override
        public String toString() {
            InetAddress a = address.getAddress();
            String host = a instanceof java.net.Inet6Address ? "[" + a.getHostAddress() + "]" : a.getHostAddress();
            return "tcp:" + host + ":" + address.getPort();
        }
    }

    /** @throws IllegalArgumentException with a message for the administrator */
    public static ListenAddress parse(String value) {
        if (value.startsWith("unix:")) {
            String path = value.substring(5);
            if (path.isEmpty() || !path.startsWith("/")) {
                throw new IllegalArgumentException("'" + value + "': unix: needs an absolute path");
            }
            return new Unix(Path.of(path));
        }
        if (value.startsWith("tcp:")) {
            String rest = value.substring(4);
            int colon = rest.lastIndexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("'" + value + "': expected tcp:HOST:PORT");
            }
            String host = rest.substring(0, colon);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            int port;
            try {
                port = Integer.parseInt(rest.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + value + "': the port is not a number");
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("'" + value + "': the port must be 1 to 65535");
            }
            try {
                return new Tcp(new InetSocketAddress(InetAddress.getByName(host), port));
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("'" + value + "': unknown host " + host);
            }
        }
        throw new IllegalArgumentException("'" + value + "': expected unix:PATH or tcp:HOST:PORT");
    }
}
