package org.saslauth.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.saslauth.password.PasswordHash;
import org.saslauth.password.PasswordSchemes;
import org.saslauth.password.ScramHash;
import org.saslauth.password.ScramShape;

/** The SCRAM entries an SQL or LDAP store was seen to hold, and the most common of them. */
class ScramTallyTest {

    static Optional<PasswordHash> entry(String scheme, int rounds) {
        String field = PasswordSchemes.hash(scheme, "pw".getBytes(StandardCharsets.UTF_8),
                rounds == 0 ? OptionalInt.empty() : OptionalInt.of(rounds));
        return Optional.of(PasswordSchemes.parse(field, "u"));
    }

    static String describe(ScramShape shape) {
        return shape.iterations() + "/" + shape.saltBytes() + (shape.derived() ? " derived" : " keys");
    }

    /**
     * Lookups in order, {@code user=SCHEME@rounds} ({@code user=-} for one found unknown), and
     * what is then made of users without keys for SCRAM-SHA-256 and SCRAM-SHA-1.
     */
    @ParameterizedTest(name = "{0} -> {1} / {2}")
    @CsvSource(delimiter = '|', value = {
        "''                                                    | 4096/16 derived  | 4096/16 derived",
        "a=PLAIN@0 b=SHA512-CRYPT@0                             | 4096/16 derived  | 4096/16 derived",
        "a=SCRAM-SHA-256@10000                                  | 10000/16 keys    | 4096/16 derived",
        "a=SCRAM-SHA-256@10000 b=PLAIN@0                        | 10000/16 derived | 4096/16 derived",
        "a=SCRAM-SHA-256@10000 b=SCRAM-SHA-256@5000 c=SCRAM-SHA-256@5000 | 5000/16 keys | 4096/16 derived",
        // one user asked again and again counts once
        "a=SCRAM-SHA-256@10000 b=SCRAM-SHA-256@5000 c=SCRAM-SHA-256@5000 a=SCRAM-SHA-256@10000 a=SCRAM-SHA-256@10000 | 5000/16 keys | 4096/16 derived",
        "a=PLAIN@0 b=SCRAM-SHA-256@5000 c=SCRAM-SHA-256@5000 a=PLAIN@0 a=PLAIN@0 | 5000/16 keys | 4096/16 derived",
        // entries made again count with the new shape, a user gone or changed to PLAIN no more
        "a=SCRAM-SHA-256@5000 b=SCRAM-SHA-256@5000 c=SCRAM-SHA-256@10000 a=SCRAM-SHA-256@10000 | 10000/16 keys | 4096/16 derived",
        "a=SCRAM-SHA-256@5000 b=SCRAM-SHA-256@5000 c=SCRAM-SHA-256@10000 a=- b=SHA512-CRYPT@5000 | 10000/16 keys | 4096/16 derived",
        "a=SCRAM-SHA-256@5000 b=SCRAM-SHA-256@5000 c=SCRAM-SHA-256@10000 a=- b=PLAIN@0 | 10000/16 derived | 4096/16 derived",
        // as many of each: the one with more iterations
        "a=SCRAM-SHA-256@5000 b=SCRAM-SHA-256@10000             | 10000/16 keys    | 4096/16 derived",
        "a=SCRAM-SHA-1@6000 b=SCRAM-SHA-256@10000               | 10000/16 keys    | 6000/16 keys",
    })
    void theUsualEntryOfTheUsersSeen(String lookups, String sha256, String sha1) {
        ScramTally tally = new ScramTally(100);
        for (String lookup : lookups.isEmpty() ? new String[0] : lookups.split(" ")) {
            String user = lookup.substring(0, lookup.indexOf('='));
            String what = lookup.substring(lookup.indexOf('=') + 1);
            tally.saw(user, what.equals("-") ? Optional.empty()
                    : entry(what.substring(0, what.indexOf('@')), Integer.parseInt(what.substring(what.indexOf('@') + 1))));
        }
        assertEquals(sha256, describe(tally.mostCommon(ScramHash.SHA_256)));
        assertEquals(sha1, describe(tally.mostCommon(ScramHash.SHA_1)));
    }

    @Test
    void onlyTheUsersSeenLastCount() {
        ScramTally tally = new ScramTally(2);
        Optional<PasswordHash> at5000 = entry("SCRAM-SHA-256", 5000);
        tally.saw("a", at5000);
        tally.saw("b", at5000);
        tally.saw("c", entry("SCRAM-SHA-256", 10000));
        tally.saw("d", entry("SCRAM-SHA-256", 10000));
        assertEquals("10000/16 keys", describe(tally.mostCommon(ScramHash.SHA_256)), "a and b left");
        tally.saw("e", entry("PLAIN", 0));
        tally.saw("f", entry("PLAIN", 0));
        assertEquals("4096/16 derived", describe(tally.mostCommon(ScramHash.SHA_256)), "c and d left");
    }
}
