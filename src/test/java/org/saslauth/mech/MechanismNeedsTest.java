package org.saslauth.mech;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What each built-in mechanism asks of a passdb, which a start checks the passdb against. */
class MechanismNeedsTest {

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource({
        "PLAIN, VERIFY, true",
        "LOGIN, VERIFY, true",
        "CRAM-MD5, LOOKUP, true",
        "SCRAM-SHA-1, LOOKUP, true",
        "SCRAM-SHA-256, LOOKUP, true",
        "OREORE, NOTHING, false",
        "OAUTHBEARER, TOKEN, true",
        "XOAUTH2, TOKEN, true",
    })
    void eachMechanismDeclaresItsNeed(String name, Mechanism.Need need, boolean needsCredentials) {
        Mechanism m = Mechanisms.parse(name).enabled().get(0);
        assertEquals(need, m.needs());
        assertEquals(needsCredentials, m.needsCredentials());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "PLAIN,CRAM-MD5,LOGIN,SCRAM-SHA-256,OREORE | LOOKUP  | CRAM-MD5,SCRAM-SHA-256",
        "PLAIN,CRAM-MD5,LOGIN,SCRAM-SHA-256,OREORE | VERIFY  | PLAIN,LOGIN",
        "PLAIN,CRAM-MD5,LOGIN,SCRAM-SHA-256,OREORE | NOTHING | OREORE",
        "PLAIN,LOGIN                               | LOOKUP  | ''",
    })
    void needingListsTheEnabledOnesInOrder(String enabled, Mechanism.Need need, String expected) {
        List<Mechanism> found = Mechanisms.parse(enabled).needing(need);
        assertEquals(expected, String.join(",", found.stream().map(Mechanism::name).toList()));
    }
}
