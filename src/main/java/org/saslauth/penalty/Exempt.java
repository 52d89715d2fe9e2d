package org.saslauth.penalty;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code --penalty-exempt CIDR,...}: client addresses ({@code rip}) that are never banned and
 * never refused by a user's protection, such as a webmail host or a monitoring probe. Only
 * address literals: a name is never looked up.
 */
public final class Exempt {

    public static final Exempt NONE = new Exempt(List.of(), "");

    private record Block(byte[] network, int bits) {}

    private final List<Block> blocks;
    private final String text;

    private Exempt(List<Block> blocks, String text) {
        this.blocks = blocks;
        this.text = text;
    }

    /** @throws IllegalArgumentException naming the bad entry */
    public static Exempt parse(String list) {
        List<Block> blocks = new ArrayList<>();
        for (String entry : list.split(",")) {
            String e = entry.strip();
            if (e.isEmpty()) {
                continue;
            }
            int slash = e.indexOf('/');
            byte[] addr = org.saslauth.protocol.ClientAddress.bytes(slash < 0 ? e : e.substring(0, slash));
            if (addr == null) {
                throw new IllegalArgumentException("'" + e + "' is not an address or CIDR block");
            }
            int bits = addr.length * 8;
            if (slash >= 0) {
                try {
                    bits = Integer.parseInt(e.substring(slash + 1));
                } catch (NumberFormatException ex) {
                    bits = -1;
                }
                if (bits < 0 || bits > addr.length * 8) {
                    throw new IllegalArgumentException("bad prefix length in '" + e + "'");
                }
            }
            blocks.add(new Block(addr, bits));
        }
        return new Exempt(List.copyOf(blocks), list.strip());
    }

    /** Whether the client address {@code rip} (as the client sent it) is in one of the networks. */
    public boolean contains(String rip) {
        if (blocks.isEmpty() || rip.isEmpty()) {
            return false;
        }
        byte[] a = org.saslauth.protocol.ClientAddress.bytes(rip);
        if (a == null) {
            return false;
        }
        for (Block b : blocks) {
            if (b.network().length == a.length && matches(b.network(), a, b.bits())) {
                return true;
            }
        }
        return false;
    }

    private static boolean matches(byte[] net, byte[] addr, int bits) {
        int whole = bits / 8;
        for (int i = 0; i < whole; i++) {
            if (net[i] != addr[i]) {
                return false;
            }
        }
        int rest = bits % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xff << (8 - rest)) & 0xff;
        return (net[whole] & mask) == (addr[whole] & mask);
    }

    @Override
    public String toString() {
        return text;
    }
}
