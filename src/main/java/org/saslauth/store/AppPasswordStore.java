package org.saslauth.store;

import static org.saslauth.Log.LOG;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.saslauth.Deadline;
import org.saslauth.Log;
import org.saslauth.password.CostlyChecks;
import org.saslauth.password.ScramHash;
import org.saslauth.password.ScramShape;

/**
 * App passwords in front of a passdb: a password is checked against the user's app passwords
 * first, then, when none is it, against the passdb as before.
 *
 * <pre>
 * password ─► an app password of the user? ── yes ─► revoked, expired, other network or service? ── no ─► OK
 *                     │ no                                           │ yes
 *                     ▼                                              ▼
 *                 the passdb ─► right, and app-passwords-required     FAIL (the reason logged)
 *                               with a live app password? ─► FAIL
 * </pre>
 *
 * An app password logs in only a user the passdb still has, where the passdb can tell (all but
 * PAM, checkpassword and an LDAP auth bind): removing a user from the passdb ends its app
 * passwords too. The app passwords are asked each time and never cached, so that a revoked one stops at the
 * next look at the file; a cache of the passdb sits behind this store and only ever holds main
 * passwords. The store of app passwords not answering is a temporary failure, whatever the
 * passdb would say. Mechanisms that need the stored password (CRAM-MD5, SCRAM) look it up in the
 * passdb alone: app passwords are for the mechanisms that send the password, PLAIN and LOGIN.
 */
public final class AppPasswordStore implements CredentialStore {

    private final CredentialStore passdb;
    private final AppPasswords appPasswords;
    private final boolean required;
    private final Supplier<Instant> clock;

    /**
     * @param required whether a user with a live app password may no longer log in with the
     *     passdb's password ({@code app-passwords-required})
     */
    public AppPasswordStore(CredentialStore passdb, AppPasswords appPasswords, boolean required) {
        this(passdb, appPasswords, required, Instant::now);
    }

    AppPasswordStore(CredentialStore passdb, AppPasswords appPasswords, boolean required, Supplier<Instant> clock) {
        this.passdb = passdb;
        this.appPasswords = appPasswords;
        this.required = required;
        this.clock = clock;
    }

    @Override
    public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
        return check(user, password, slots, deadline).verdict();
    }

    @Override
    public Checked check(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
        AppPasswords.Entries entries = appPasswords.of(user, deadline);
        if (!(entries instanceof AppPasswords.Entries.Found found)) {
            return new Checked(Verdict.UNAVAILABLE, user);
        }
        List<AppPassword> list = found.passwords();
        for (AppPassword p : list) {
            switch (slots.check(p.hash(), password, deadline)) {
                case TOO_BUSY:
                    return new Checked(Verdict.OVERLOADED, user);
                case NOT_MATCHED:
                    continue;
                case MATCHED:
                    break;
            }
            String address = Client.ADDRESS.get();
            Optional<String> refused = p.refusal(clock.get(), address, Client.SERVICE.get());
            if (refused.isPresent()) {
                return new Checked(Verdict.REFUSED, user, refused);
            }
            Lookup inPassdb = passdb.lookup(user, deadline);
            if (inPassdb instanceof Lookup.Unavailable) {
                return new Checked(Verdict.UNAVAILABLE, user);
            }
            if (inPassdb instanceof Lookup.UnknownUser) {
                return new Checked(Verdict.REFUSED, user,
                        Optional.of("app password '" + p.name() + "' is of a user the passdb no longer has"));
            }
            LOG.info("user {} logged in with app password {}", Log.quote(p.user()), Log.quote(p.name()));
            appPasswords.used(p, address, deadline);
            return new Checked(Verdict.ACCEPTED, p.user());
        }
        Checked checked = passdb.check(user, password, slots, deadline);
        if (required && checked.verdict() == Verdict.ACCEPTED && anyLive(list)) {
            return new Checked(Verdict.REFUSED, user,
                    Optional.of("main password refused: the user has app passwords and app-passwords-required is on"));
        }
        return checked;
    }

    private boolean anyLive(List<AppPassword> list) {
        Instant now = clock.get();
        for (AppPassword p : list) {
            if (p.live(now)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public Lookup lookup(String user, Deadline deadline) {
        return passdb.lookup(user, deadline);
    }

    @Override
    public ScramShape scramShape(ScramHash hash) {
        return passdb.scramShape(hash);
    }

    @Override
    public void reload() {
        appPasswords.reload();
        passdb.reload();
    }

    @Override
    public void close() {
        try {
            appPasswords.close();
        } finally {
            passdb.close();
        }
    }
}
