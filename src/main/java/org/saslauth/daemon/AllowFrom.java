package org.saslauth.daemon;

import java.net.InetAddress;
import java.util.function.Predicate;
import org.saslauth.protocol.Networks;

/**
 * {@code --allow-from CIDR,...}: the client addresses a TCP listener accepts. A bare address is
 * a /32 (or /128). An IPv4 client reaching an IPv6 socket as {@code ::ffff:a.b.c.d} is matched
 * as its IPv4 address.
 */
public final class AllowFrom implements Predicate<InetAddress> {

    private final Networks networks;

    private AllowFrom(Networks networks) {
        this.networks = networks;
    }

    /** @throws IllegalArgumentException naming the bad entry */
    public static AllowFrom parse(String list) {
        Networks networks = Networks.parse(list);
        if (networks.isEmpty()) {
            throw new IllegalArgumentException("no address given");
        }
        return new AllowFrom(networks);
    }

    @Override
    public boolean test(InetAddress client) {
        return networks.contains(client.getAddress());
    }
}
