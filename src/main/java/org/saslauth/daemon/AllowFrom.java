package org.saslauth.daemon;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * {@code --allow-from CIDR,...}: the client addresses a TCP listener accepts. A bare address is
 * a /32 (or /128). An IPv4 client reaching an IPv6 socket as {@code ::ffff:a.b.c.d} is matched
 * as its IPv4 address.
 */
public final class AllowFrom implements Predicate<InetAddress> {

    private record Block(byte[] network, int bits) {}

    private final List<Block> blocks;

    private AllowFrom(List<Block> blocks) {
        this.blocks = blocks;
    }

    /** @throws IllegalArgumentException naming the bad entry */
    public static AllowFrom parse(String list) {
        List<Block> blocks = new ArrayList<>();
        for (String entry : list.split(",")) {
            String e = entry.strip();
            if (e.isEmpty()) {
                continue;
            }
            int slash = e.indexOf('/');
            String host = slash < 0 ? e : e.substring(0, slash);
            if (!host.matches("[0-9a-fA-F:.]+")) { // an address, never a name to resolve
                throw new IllegalArgumentException("'" + e + "' is not an address or CIDR block");
            }
            byte[] addr;
            try {
                addr = InetAddress.getByName(host).getAddress();
            } catch (UnknownHostException ex) {
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
        if (blocks.isEmpty()) {
            throw new IllegalArgumentException("no address given");
        }
        return new AllowFrom(List.copyOf(blocks));
    }

    @Override
    public boolean test(InetAddress client) {
        byte[] a = client.getAddress();
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
}
