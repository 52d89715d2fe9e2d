package org.saslauth.cli;

import java.nio.file.Path;
import java.util.Optional;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.PasswdFile;
import org.saslauth.store.UserNameFormat;

/** The user store and name rules that a command line names; shared by serving and {@code test}. */
final class Stores {

    private Stores() {}

    static UserNameFormat format(Options options) {
        return new UserNameFormat(options.nameFormat() == ServingOption.NameFormat.LOWERCASE,
                Optional.ofNullable(options.string(ServingOption.DEFAULT_REALM)));
    }

    static CredentialStore open(Options options) throws StartupError {
        Path passwdFile = options.path(ServingOption.PASSWD_FILE);
        if (passwdFile == null) {
            throw new StartupError("--passwd-file is required");
        }
        try {
            return PasswdFile.load(passwdFile);
        } catch (PasswdFile.Invalid e) {
            throw new StartupError(e.getMessage());
        }
    }
}
