package org.saslauth.daemon;

/**
 * Who is connected, for logs: the listener it came through ({@code unix:/path},
 * {@code tcp:127.0.0.1:12345}, {@code inherited}) and its address ({@code 192.0.2.7:40312};
 * {@code local} on a UNIX socket), and its number since the start, which log lines carry.
 */
public record Peer(String listener, String address, long number) {

    @Override
    public String toString() {
        return "#" + number + " " + address + " on " + listener;
    }
}
