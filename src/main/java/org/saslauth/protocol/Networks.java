package org.saslauth.protocol;

import java.util.ArrayList;
import java.util.List;

/**
 * A list of networks, {@code CIDR,...}: a bare address is a /32 (or /128), and an IPv4-mapped
 * IPv6 address ({@code ::ffff:a.b.c.d}) is its IPv4 address, on either side. Only address
 * literals ({@link ClientAddress#bytes}): a name is never looked up. What {@code --allow-from}
 * and {@code --penalty-exempt} are.
 */
public final class Networks {

    private record Block(byte[] network, int bits) {}

    private final List<Block> blocks;
    private final String text;

    private Networks(List<Block> blocks, String text) {
        this.blocks = blocks;
        this.text = text;
    }

    /**
     * The networks of a comma-separated list; empty entries are passed over.
     *
     * @throws IllegalArgumentException naming the bad entry
     */
    public static Networks parse(String list) {
        List<Block> blocks = new ArrayList<>();
        for (String entry : list.split(",")) {
            String e = entry.strip();
            if (e.isEmpty()) {
                continue;
            }
            int slash = e.indexOf('/');
            byte[] addr = ClientAddress.bytes(slash < 0 ? e : e.substring(0, slash));
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
        return new Networks(List.copyOf(blocks), list.strip());
    }

    public boolean isEmpty() {
        return blocks.isEmpty();
    }

    /** Whether {@code address} (4 or 16 bytes; an IPv4-mapped one read as IPv4) is in one of them. */
    public boolean contains(byte[] address) {
        byte[] a = address;
        if (a.length == 16 && isMappedV4(a)) {
            a = java.util.Arrays.copyOfRange(a, 12, 16);
        }
        for (Block b : blocks) {
            if (b.network().length == a.length && matches(b.network(), a, b.bits())) {
                return true;
            }
        }
        return false;
    }

    private static boolean isMappedV4(byte[] a) {
        for (int i = 0; i < 10; i++) {
            if (a[i] != 0) {
                return false;
            }
        }
        return a[10] == (byte) 0xff && a[11] == (byte) 0xff;
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
