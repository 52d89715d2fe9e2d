package org.saslauth;

import java.nio.file.Path;
import java.util.Optional;
import org.saslauth.store.CredentialStore;
import org.saslauth.store.PasswdFile;
import org.saslauth.store.UserNameFormat;
import picocli.CommandLine.Option;

/** Where users come from and how their names are written; shared by serving and {@code test}. */
final class StoreOptions {

    enum Format { AS_IS, LOWERCASE }

    @Option(names = "--passwd-file", paramLabel = "FILE",
            description = "Users in Dovecot's passwd-file format (user:{SCHEME}password...).")
    Path passwdFile;

    @Option(names = "--username-format", paramLabel = "FORMAT",
            converter = FormatConverter.class,
            description = "as-is or lowercase, like Dovecot's auth_username_format %%u / %%Lu (default: as-is).")
    Format usernameFormat = Format.AS_IS;

    @Option(names = "--default-realm", paramLabel = "DOMAIN",
            description = "Appended as @DOMAIN to user names without '@', like auth_default_realm.")
    String defaultRealm;

    UserNameFormat format() {
        return new UserNameFormat(usernameFormat == Format.LOWERCASE, Optional.ofNullable(defaultRealm));
    }

    /** The store opened first, which a second call returns too (the daemon shares it). */
    private CredentialStore opened;

    CredentialStore open() throws Saslauth.StartupError {
        if (passwdFile == null) {
            throw new Saslauth.StartupError("--passwd-file is required");
        }
        if (opened != null) {
            return opened;
        }
        try {
            opened = PasswdFile.load(passwdFile);
            return opened;
        } catch (PasswdFile.Invalid e) {
            throw new Saslauth.StartupError(e.getMessage());
        }
    }

    static final class FormatConverter implements picocli.CommandLine.ITypeConverter<Format> {
        @Override
        public Format convert(String value) {
            return switch (value.strip().toLowerCase(java.util.Locale.ROOT)) {
                case "as-is", "%u" -> Format.AS_IS;
                case "lowercase", "%lu" -> Format.LOWERCASE;
                default -> throw new picocli.CommandLine.TypeConversionException(
                        "'" + value + "' is not as-is or lowercase");
            };
        }
    }
}
