package org.saslauth.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The one rule that tells clients apart for the penalty and the rate limits. */
class ClientAddressTest {

    @ParameterizedTest(name = "{0} /{1} -> {2}")
    @CsvSource(delimiter = '|', emptyValue = "", value = {
        "192.0.2.1                       | 64  | 192.0.2.1",
        "2001:db8:1:2:3:4:5:6            | 64  | 2001:db8:1:2:0:0:0:0/64",
        "2001:db8:1:2:ffff::9            | 64  | 2001:db8:1:2:0:0:0:0/64",
        "2001:DB8:1:2::1                 | 64  | 2001:db8:1:2:0:0:0:0/64",
        "2001:db8:1:2::1%eth0            | 64  | 2001:db8:1:2:0:0:0:0/64",
        "2001:db8:1:2:3:4:5:6            | 48  | 2001:db8:1:0:0:0:0:0/48",
        "2001:db8:1:2:3:4:5:6            | 128 | 2001:db8:1:2:3:4:5:6/128",
        "2001:db8:1:2:3:4:5:6            | 60  | 2001:db8:1:0:0:0:0:0/60",
        "2001:db8:1:1f:3:4:5:6           | 60  | 2001:db8:1:10:0:0:0:0/60",
        "::1                             | 64  | 0:0:0:0:0:0:0:0/64",
        "::                              | 64  | 0:0:0:0:0:0:0:0/64",
        "::ffff:192.0.2.1                | 64  | 192.0.2.1",
        "::ffff:c000:0201                | 64  | 192.0.2.1",
        "64:ff9b::192.0.2.1              | 96  | 64:ff9b:0:0:0:0:0:0/96",
        "1:2:3:4:5:6:7:8:9               | 64  | 1:2:3:4:5:6:7:8:9",
        "1::2::3                         | 64  | 1::2::3",
        "2001:db8:zz::1                  | 64  | 2001:db8:zz::1",
        "1:2:3:4:5:6:7::8                | 64  | 1:2:3:4:5:6:7::8",
        "192.0.2.256                     | 64  | 192.0.2.256",
        "mail.example.org                | 64  | mail.example.org",
        "                                | 64  | ''",
    })
    void keys(String rip, int prefix, String key) {
        assertEquals(key.equals("''") ? "" : key, ClientAddress.key(rip == null ? "" : rip, prefix));
    }

    @org.junit.jupiter.api.Test
    void aLongValueIsKeyedByItsHead() {
        String junk = "x".repeat(10_000);
        assertEquals(64, ClientAddress.key(junk, 64).length());
    }
}
