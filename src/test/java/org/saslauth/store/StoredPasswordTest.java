package org.saslauth.store;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class StoredPasswordTest {

    @Test
    void aKnownDefaultSchemeIsAccepted() {
        assertDoesNotThrow(() -> StoredPassword.checkScheme("SHA512-CRYPT"));
        assertDoesNotThrow(() -> StoredPassword.checkScheme("ssha"));
        assertDoesNotThrow(() -> StoredPassword.checkScheme("SHA256.hex"));
    }

    @Test
    void anUnknownDefaultSchemeIsAConfigurationError() {
        InvalidStoreConfig e = assertThrows(InvalidStoreConfig.class, () -> StoredPassword.checkScheme("NOPE"));
        assertEquals("default-pass-scheme: unknown password scheme \"{NOPE}\"", e.getMessage());
        assertThrows(InvalidStoreConfig.class, () -> StoredPassword.checkScheme("SHA256.rot13"));
    }
}
