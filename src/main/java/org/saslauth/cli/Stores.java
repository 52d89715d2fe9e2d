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

    /** Whether a passdb is configured (a passwd file, or another kind). */
    static boolean configured(Options options) {
        return options.path(ServingOption.PASSWD_FILE) != null
                || !options.string(ServingOption.PASSDB).equals("passwd-file");
    }

    /** The store of a spawned helper or of {@code saslauth test}: one connection, checked at start. */
    static CredentialStore open(Options options) throws StartupError {
        return open(options, 1, true);
    }

    /**
     * @param poolSize connections a database or directory store keeps
     * @param failFast whether a server that cannot be reached at start is an error; a daemon
     *     retries instead
     */
    static CredentialStore open(Options options, int poolSize, boolean failFast) throws StartupError {
        if (options.string(ServingOption.PASSDB).equals("passwd-file")) {
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
        try {
            return Passdbs.open(options, poolSize, failFast);
        } catch (org.saslauth.store.InvalidStoreConfig e) {
            throw new StartupError(e.getMessage());
        }
    }
}
