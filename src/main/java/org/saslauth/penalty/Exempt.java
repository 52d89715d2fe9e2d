package org.saslauth.penalty;

import org.saslauth.protocol.ClientAddress;
import org.saslauth.protocol.Networks;

/**
 * {@code --penalty-exempt CIDR,...}: client addresses ({@code rip}) that are never banned and
 * never refused by a user's protection, such as a webmail host or a monitoring probe. Only
 * address literals: a name is never looked up.
 */
public final class Exempt {

    public static final Exempt NONE = new Exempt(Networks.parse(""));

    private final Networks networks;

    private Exempt(Networks networks) {
        this.networks = networks;
    }

    /** @throws IllegalArgumentException naming the bad entry */
    public static Exempt parse(String list) {
        return new Exempt(Networks.parse(list));
    }

    /** Whether the client address {@code rip} (as the client sent it) is in one of the networks. */
    public boolean contains(String rip) {
        if (networks.isEmpty() || rip.isEmpty()) {
            return false;
        }
        byte[] a = ClientAddress.bytes(rip);
        return a != null && networks.contains(a);
    }

    @Override
    public String toString() {
        return networks.toString();
    }
}
