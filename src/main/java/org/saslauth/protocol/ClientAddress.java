package org.saslauth.protocol;

/**
 * The one rule by which the penalty and the per-address rate limit tell clients apart: an IPv4
 * address is one client; an IPv6 address counts as its prefix (a /64 by default,
 * {@code --ipv6-prefix}), because one host or one customer line holds a whole /64 and can send
 * from any address in it (Dovecot masks to a /48 for its penalty); an IPv4-mapped IPv6 address
 * ({@code ::ffff:192.0.2.1}) is the IPv4 address; a client that sent no {@code rip} is one
 * client of its own, the empty key. Anything else a client put in {@code rip} is keyed as it
 * is. No name is ever looked up.
 */
public final class ClientAddress {

    /** Longer values are not addresses; they are keyed by their first characters. */
    private static final int MAX_LITERAL = 64;

    private ClientAddress() {}

    /** The key of {@code rip} (unescaped, possibly empty) with IPv6 addresses cut to {@code ipv6Prefix} bits. */
    public static String key(String rip, int ipv6Prefix) {
        if (rip.isEmpty()) {
            return "";
        }
        if (rip.indexOf(':') >= 0) {
            int zone = rip.indexOf('%');
            byte[] a = ipv6(zone < 0 ? rip : rip.substring(0, zone));
            if (a != null) {
                return isMappedIpv4(a) ? (a[12] & 0xff) + "." + (a[13] & 0xff) + "." + (a[14] & 0xff) + "." + (a[15] & 0xff)
                        : prefix(a, ipv6Prefix);
            }
        } else {
            byte[] a = new byte[4];
            if (ipv4(rip, a, 0)) {
                return (a[0] & 0xff) + "." + (a[1] & 0xff) + "." + (a[2] & 0xff) + "." + (a[3] & 0xff);
            }
        }
        return rip.length() > MAX_LITERAL ? rip.substring(0, MAX_LITERAL) : rip;
    }

    /**
     * The bytes of an address literal: 4 for IPv4 (an IPv4-mapped IPv6 address included), 16
     * for IPv6 (a zone dropped); null when {@code s} is not one. No name is looked up.
     */
    public static byte[] bytes(String s) {
        if (s.indexOf(':') >= 0) {
            int zone = s.indexOf('%');
            byte[] a = ipv6(zone < 0 ? s : s.substring(0, zone));
            return a != null && isMappedIpv4(a) ? java.util.Arrays.copyOfRange(a, 12, 16) : a;
        }
        byte[] a = new byte[4];
        return ipv4(s, a, 0) ? a : null;
    }

    /**
     * The network a client key belongs to, for what is counted per network (the addresses known
     * for a user, the bans of a /24): an IPv4 key's /24 ({@code 192.0.2.0/24}); an IPv6 key is
     * a prefix already and is its own network, as is anything else.
     */
    public static String network(String key) {
        if (key.indexOf(':') < 0 && key.indexOf('/') < 0) {
            int last = key.lastIndexOf('.');
            byte[] a = new byte[4];
            if (last > 0 && ipv4(key, a, 0)) {
                return key.substring(0, last) + ".0/24";
            }
        }
        return key;
    }

    private static boolean isMappedIpv4(byte[] a) {
        for (int i = 0; i < 10; i++) {
            if (a[i] != 0) {
                return false;
            }
        }
        return a[10] == (byte) 0xff && a[11] == (byte) 0xff;
    }

    /** {@code 2001:db8:0:1::/64}: the first {@code bits} bits, the rest zero, in groups of hex. */
    private static String prefix(byte[] a, int bits) {
        for (int i = 0; i < 16; i++) {
            int keep = Math.max(0, Math.min(8, bits - 8 * i));
            a[i] &= (byte) (0xff00 >> keep);
        }
        StringBuilder out = new StringBuilder(48);
        for (int i = 0; i < 16; i += 2) {
            if (i > 0) {
                out.append(':');
            }
            out.append(Integer.toHexString(((a[i] & 0xff) << 8) | (a[i + 1] & 0xff)));
        }
        return out.append('/').append(bits).toString();
    }

    /** Four decimal parts of 0-255 into {@code out[at..at+3]}. */
    private static boolean ipv4(String s, byte[] out, int at) {
        int part = 0;
        int value = -1;
        for (int i = 0; i <= s.length(); i++) {
            char c = i < s.length() ? s.charAt(i) : '.';
            if (c == '.') {
                if (value < 0 || part > 3) {
                    return false;
                }
                out[at + part++] = (byte) value;
                value = -1;
            } else if (c >= '0' && c <= '9') {
                value = value < 0 ? c - '0' : value * 10 + (c - '0');
                if (value > 255) {
                    return false;
                }
            } else {
                return false;
            }
        }
        return part == 4;
    }

    /** RFC 4291 text form ({@code ::} once, a trailing dotted IPv4 part) into 16 bytes; null if it is not one. */
    static byte[] ipv6(String s) {
        if (s.length() < 2 || s.length() > 45) {
            return null;
        }
        byte[] out = new byte[16];
        int gap = -1; // where "::" stands, in bytes
        int at = 0;
        int i = 0;
        if (s.startsWith("::")) {
            gap = 0;
            i = 2;
        } else if (s.charAt(0) == ':') {
            return null;
        }
        while (i < s.length()) {
            int end = s.indexOf(':', i);
            String group = s.substring(i, end < 0 ? s.length() : end);
            if (group.indexOf('.') >= 0) {
                if (end >= 0 || at > 12 || !ipv4(group, out, at)) {
                    return null;
                }
                at += 4;
                break;
            }
            if (group.isEmpty() || group.length() > 4 || at > 14) {
                return null;
            }
            int value = 0;
            for (int k = 0; k < group.length(); k++) {
                int d = Character.digit(group.charAt(k), 16);
                if (d < 0) {
                    return null;
                }
                value = value * 16 + d;
            }
            out[at++] = (byte) (value >> 8);
            out[at++] = (byte) value;
            if (end < 0) {
                break;
            }
            i = end + 1;
            if (i < s.length() && s.charAt(i) == ':') {
                if (gap >= 0) {
                    return null;
                }
                gap = at;
                i++;
            } else if (i == s.length()) {
                return null; // a single trailing ':'
            }
        }
        if (gap < 0) {
            return at == 16 ? out : null;
        }
        if (at == 16) {
            return null; // "::" standing for nothing
        }
        int tail = at - gap;
        System.arraycopy(out, gap, out, 16 - tail, tail);
        java.util.Arrays.fill(out, gap, 16 - tail, (byte) 0);
        return out;
    }
}
