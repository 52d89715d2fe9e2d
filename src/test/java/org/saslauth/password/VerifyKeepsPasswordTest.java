package org.saslauth.password;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.saslauth.Deadline;
import org.saslauth.store.PasswdFile;

/**
 * Regression: checking a password against a SHA-crypt hash zeroed the caller's password
 * (commons-codec wipes the key it is given), so the penalty's digest of each guess saw every
 * wrong password of one length as the same guess, and never grew for such users.
 */
class VerifyKeepsPasswordTest {

    /** Slots for slow hashes, this test's own. */
    static final CostlyChecks SLOTS = new CostlyChecks(2);

    @ParameterizedTest
    @ValueSource(strings = {"alice", "bob", "carol"})
    void verifyingLeavesTheCallersPasswordAsItWas(String user) throws Exception {
        PasswdFile store = PasswdFile.load(java.nio.file.Path.of(System.getProperty("basedir", "."), "examples/users.passwd"));
        for (String tried : new String[] {"wrong-1", user + "-password"}) {
            byte[] password = tried.getBytes(StandardCharsets.UTF_8);
            store.verify(user, password, SLOTS, Deadline.NONE);
            assertArrayEquals(tried.getBytes(StandardCharsets.UTF_8), password, "after verify(" + user + ")");
        }
    }
}
