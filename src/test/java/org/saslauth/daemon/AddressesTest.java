package org.saslauth.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** --listen, --allow-from and --socket-mode values. */
class AddressesTest {

    @ParameterizedTest
    @CsvSource({
        "unix:/run/saslauth/auth, unix:/run/saslauth/auth, false",
        "tcp:127.0.0.1:12345, tcp:127.0.0.1:12345, true",
        "tcp:[::1]:12345, tcp:[0:0:0:0:0:0:0:1]:12345, true",
        "tcp:0.0.0.0:12345, tcp:0.0.0.0:12345, false",
    })
    void listenAddresses(String value, String shown, boolean loopback) {
        ListenAddress a = ListenAddress.parse(value);
        assertEquals(shown, a.toString());
        assertEquals(loopback, a instanceof ListenAddress.Tcp t && t.loopback());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "unix:", "unix:relative/path", "tcp:127.0.0.1", "tcp:127.0.0.1:0",
        "tcp:127.0.0.1:65536", "tcp:127.0.0.1:http", "udp:1.2.3.4:5", "/run/saslauth/auth"})
    void badListenAddresses(String value) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ListenAddress.parse(value));
        assertTrue(e.getMessage().contains("'" + value + "'"), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({
        "192.0.2.0/24, 192.0.2.77, true",
        "192.0.2.0/24, 192.0.3.1, false",
        "192.0.2.7, 192.0.2.7, true",
        "192.0.2.7, 192.0.2.8, false",
        "'10.0.0.0/8, 192.0.2.7', 10.200.1.1, true",
        "198.51.100.0/23, 198.51.101.255, true",
        "198.51.100.0/23, 198.51.102.0, false",
        "0.0.0.0/0, 203.0.113.9, true",
        "2001:db8::/32, 2001:db8:1::5, true",
        "2001:db8::/32, 2001:db9::5, false",
        "192.0.2.0/24, ::ffff:192.0.2.9, true",
        "192.0.2.0/24, 2001:db8::1, false",
    })
    void allowFrom(String list, String client, boolean allowed) throws Exception {
        assertEquals(allowed, AllowFrom.parse(list).test(InetAddress.getByName(client)));
    }

    /** Addresses as their 16 bytes, never converted by InetAddress: an IPv4-mapped one stays an Inet6Address. */
    @ParameterizedTest
    @CsvSource({
        "192.0.2.0/24, 00000000000000000000ffffc0000209, true",
        "192.0.2.9, 00000000000000000000ffffc0000209, true",
        "192.0.2.0/24, 00000000000000000000ffffc0000309, false",
        "2001:db8::/32, 00000000000000000000ffffc0000209, false",
        "0.0.0.0/0, 20010db8000000000000000000000001, false",
        "::ffff:192.0.2.9, 00000000000000000000ffffc0000209, true",
        // an IPv4-compatible address, NAT64 and 6to4 are IPv6 clients, not the IPv4 one
        "192.0.2.0/24, 000000000000000000000000c0000209, false",
        "192.0.2.0/24, 0064ff9b0000000000000000c0000209, false",
        "192.0.2.0/24, 2002c000020900000000000000000000, false",
        "2001:db8:8000::/33, 20010db8800000000000000000000001, true",
        "2001:db8:8000::/33, 20010db87fff00000000000000000001, false",
        "::1, 00000000000000000000000000000001, true",
        "::1, 7f000001, false",
        "127.0.0.1, 00000000000000000000000000000001, false",
    })
    void allowFromRawAddresses(String list, String hex, boolean allowed) throws Exception {
        byte[] bytes = java.util.HexFormat.of().parseHex(hex);
        InetAddress client = bytes.length == 16 ? java.net.Inet6Address.getByAddress(null, bytes, -1)
                : InetAddress.getByAddress(bytes);
        assertEquals(bytes.length, client.getAddress().length, "not converted");
        assertEquals(allowed, AllowFrom.parse(list).test(client), list + " / " + client);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "mail.example.com", "192.0.2.0/33", "192.0.2.0/x", "2001:db8::/129", ","})
    void badAllowFrom(String list) {
        assertThrows(IllegalArgumentException.class, () -> AllowFrom.parse(list));
    }

    @ParameterizedTest
    @CsvSource({"0660, rw-rw----", "660, rw-rw----", "0600, rw-------", "0666, rw-rw-rw-", "0750, rwxr-x---"})
    void socketModes(String octal, String mode) {
        assertEquals(PosixFilePermissions.fromString(mode), SocketFile.parseMode(octal));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "rw", "0668", "01777", "66", "0x660"})
    void badSocketModes(String octal) {
        assertThrows(IllegalArgumentException.class, () -> SocketFile.parseMode(octal));
    }
}
