package org.saslauth.cli;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Where users come from ({@code --passdb}), with the options of that kind alone, and what it
 * can give a mechanism ({@link org.saslauth.mech.Mechanism#needs}): every passdb checks a
 * password; only those that hold the password itself can hand it to CRAM-MD5 and SCRAM. Plain
 * values: opening one is {@link Config.Store#open}'s.
 */
sealed interface Passdb {

    /** Whether this passdb checks a password it is given (PLAIN and LOGIN need that): all but {@link None}. */
    default boolean checksPasswords() {
        return true;
    }

    /**
     * Whether this passdb gives the stored password itself: CRAM-MD5 and SCRAM compute with it.
     * Those that hold it do; a program or an LDAP bind only says yes or no.
     */
    default boolean givesStoredPasswords() {
        return true;
    }

    /** How the passdb is named in a message: the option that chose it. */
    String describe();

    /** No passdb at all: only for mechanisms that ask none (OREORE). */
    record None() implements Passdb {
        @Override
        public boolean checksPasswords() {
            return false;
        }

        @Override
        public boolean givesStoredPasswords() {
            return false;
        }

        @Override
        public String describe() {
            return "no passdb";
        }
    }

    /** {@code --passwd-file}: Dovecot's passwd-file format, with each user's stored password. */
    record PasswdFile(Path file) implements Passdb {
        @Override
        public String describe() {
            return "--passdb passwd-file";
        }
    }

    /** {@code --passdb sql}: the query returns the stored password. */
    record Sql(String url, Optional<String> user, Optional<Path> passwordFile, String query, String defaultScheme)
            implements Passdb {
        @Override
        public String describe() {
            return "--passdb sql";
        }
    }

    /**
     * {@code --passdb ldap}: with {@code authBind}, the password is checked by binding as the
     * user, and the directory never shows it; without, it is read from {@code passwordAttribute}.
     */
    record Ldap(String urls, boolean startTls, Optional<Path> caFile, Optional<String> bindDn,
            Optional<Path> bindPasswordFile, String base, String userFilter, boolean authBind,
            String passwordAttribute, String defaultScheme) implements Passdb {
        @Override
        public boolean givesStoredPasswords() {
            return !authBind;
        }

        @Override
        public String describe() {
            return authBind ? "--passdb ldap with --ldap-auth-bind true" : "--passdb ldap";
        }
    }

    /** {@code --passdb shadow}: the host's accounts, their one-way crypt(3) hashes only. */
    record Shadow(Path file, int minUid) implements Passdb {
        @Override
        public boolean givesStoredPasswords() {
            return false;
        }

        @Override
        public String describe() {
            return "--passdb shadow";
        }
    }

    /** {@code --passdb pam}: Linux-PAM's auth and account phases say yes or no, nothing more. */
    record Pam(String service) implements Passdb {
        @Override
        public boolean givesStoredPasswords() {
            return false;
        }

        @Override
        public String describe() {
            return "--passdb pam";
        }
    }

    /** {@code --passdb checkpassword}: the program says yes or no to a password, nothing more. */
    record Checkpassword(Path program) implements Passdb {
        @Override
        public boolean givesStoredPasswords() {
            return false;
        }

        @Override
        public String describe() {
            return "--passdb checkpassword";
        }
    }
}
