package org.saslauth.store;

import static org.saslauth.Log.LOG;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.saslauth.Deadline;
import org.saslauth.Log;
import org.saslauth.Text;
import org.saslauth.password.CostlyChecks;
import org.saslauth.password.Match;
import org.saslauth.password.PasswordHash;
import org.saslauth.password.PasswordSchemes;

/**
 * {@code --passdb shadow}: the host's own accounts, from {@code /etc/shadow} (the password
 * hash, whatever crypt(3) scheme: yescrypt since Debian 11, SHA-512 before) and
 * {@code /etc/passwd} beside it (the uid), as Cyrus saslauthd's {@code -a shadow} and Dovecot's
 * old passdb shadow serve them.
 *
 * <p>The files are read, rather than asked through {@code getspnam_r}: the same privilege (the
 * {@code shadow} group), and with the file at hand the costliest hash is known, which an unknown
 * user's password is checked against so that a failure's time does not tell who exists, and a
 * change is seen by its modification time, as the passwd file's is. Accounts that NSS finds
 * elsewhere (LDAP through sssd) are not here: that is passdb pam, or passdb ldap.
 *
 * <p>Refused, after a check against the costliest hash so that they answer as slowly as any
 * failure, and with the reason in the log: a uid below {@code shadow-min-uid} (root and the
 * system accounts), a locked account ({@code !} or {@code *}, as {@code usermod -L} and
 * {@code passwd -l} leave it), an expired one (the eighth field, as {@code chage -E} sets it),
 * and an empty password field ({@code passwd -d}). Password ageing (the must-change fields) is
 * PAM's: it is not looked at here.
 */
public final class ShadowStore implements CredentialStore {

    /** Why an account that is there may not log in; null for one that may. */
    private record Account(PasswordHash hash, String refusal) {}

    private record Snapshot(Map<String, Account> users, PasswdFile.Stamp shadow, PasswdFile.Stamp passwd,
            PasswordHash costliest) {}

    private final Path shadow;
    private final Path passwd;
    private final int minUid;
    private final LongSupplier clock;
    private final Supplier<LocalDate> today;
    private final Object reloadLock = new Object();
    private volatile Snapshot current;
    private volatile long nextCheck;
    /** What made the files unusable, logged once until they are usable again; guarded by reloadLock. */
    private String failing;

    private ShadowStore(Path shadow, int minUid, LongSupplier clock, Supplier<LocalDate> today) {
        this.shadow = shadow;
        this.passwd = shadow.resolveSibling("passwd");
        this.minUid = minUid;
        this.clock = clock;
        this.today = today;
    }

    /**
     * The accounts of {@code shadow} (and of {@code passwd} in its directory) with a uid of at
     * least {@code minUid}.
     *
     * @param failFast whether files that cannot be read are an error now ({@code test}) rather
     *     than temporary failures until they can be ({@code serving})
     * @throws InvalidStoreConfig when failing fast, saying what to fix
     */
    public static ShadowStore open(Path shadow, int minUid, boolean failFast) throws InvalidStoreConfig {
        return open(shadow, minUid, failFast, System::nanoTime, () -> LocalDate.now(ZoneOffset.UTC));
    }

    static ShadowStore open(Path shadow, int minUid, boolean failFast, LongSupplier clock, Supplier<LocalDate> today)
            throws InvalidStoreConfig {
        ShadowStore store = new ShadowStore(shadow, minUid, clock, today);
        try {
            store.current = store.read();
        } catch (IOException e) {
            String why = store.describe(e);
            if (failFast) {
                throw new InvalidStoreConfig(why);
            }
            store.failing = why;
            LOG.error("{}; every login gets a temporary failure until this is fixed", why);
        }
        store.nextCheck = clock.getAsLong() + PasswdFile.RECHECK.toNanos();
        return store;
    }

    private String describe(IOException e) {
        String why = "passdb shadow: cannot read " + (e instanceof java.nio.file.AccessDeniedException a
                && a.getFile() != null ? a.getFile() : shadow + " or " + passwd) + ": " + Text.describe(e);
        if (e instanceof java.nio.file.AccessDeniedException) {
            why += " (the serving user needs the group shadow: usermod -aG shadow saslauth, or"
                    + " SupplementaryGroups=shadow in the unit)";
        }
        return why;
    }

    private Snapshot read() throws IOException {
        PasswdFile.Stamp shadowStamp = PasswdFile.Stamp.of(shadow);
        PasswdFile.Stamp passwdStamp = PasswdFile.Stamp.of(passwd);
        Map<String, Integer> uids = new HashMap<>();
        for (String line : lines(passwd)) {
            String[] f = line.split(":", -1);
            if (f.length >= 3 && !f[0].isEmpty()) {
                try {
                    uids.putIfAbsent(f[0], Integer.parseInt(f[2]));
                } catch (NumberFormatException e) {
                    // not an account line
                }
            }
        }
        long day = today.get().toEpochDay();
        Map<String, Account> users = new HashMap<>();
        PasswordHash costliest = null;
        int number = 0;
        for (String line : lines(shadow)) {
            number++;
            String[] f = line.split(":", -1);
            if (f.length < 2 || f[0].isEmpty() || users.containsKey(f[0])) {
                continue;
            }
            String user = f[0];
            String field = f[1];
            Integer uid = uids.get(user);
            String refusal = null;
            PasswordHash hash = null;
            if (uid == null) {
                continue; // not an account of this host (a stale line): unknown
            }
            if (uid < minUid) {
                refusal = "a system account (uid " + uid + ", below shadow-min-uid " + minUid + ")";
            } else if (field.isEmpty()) {
                refusal = "an empty password (passwd -d)";
            } else if (field.startsWith("!") || field.startsWith("*")) {
                refusal = "locked";
            } else if (f.length > 7 && expired(f[7], day)) {
                refusal = "expired on " + LocalDate.ofEpochDay(Long.parseLong(f[7].strip()));
            }
            if (refusal == null) {
                try {
                    hash = PasswordSchemes.parse("{CRYPT}" + field, user);
                } catch (IllegalArgumentException e) {
                    refusal = "its hash cannot be used: " + e.getMessage();
                    LOG.warn("passdb shadow: {} line {}: user {}: {}", shadow, number, Log.quote(user), e.getMessage());
                }
            }
            users.put(user, new Account(hash, refusal));
            if (hash != null && (costliest == null || hash.cost() > costliest.cost())) {
                costliest = hash;
            }
        }
        return new Snapshot(Map.copyOf(users), shadowStamp, passwdStamp, costliest);
    }

    /**
     * Whether the eighth field says the account has expired: days since 1970, as glibc and
     * pam_unix read it, where empty or negative ({@code -1}) is never, and a day past year
     * 999999999 cannot be.
     */
    static boolean expired(String field, long today) {
        try {
            long day = Long.parseLong(field.strip());
            return day >= 0 && day <= today;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static List<String> lines(Path file) throws IOException {
        return new String(Files.readAllBytes(file), StandardCharsets.UTF_8).lines().toList();
    }

    /** The accounts now: the files read again when either changed, looked at once a second at most. */
    private Snapshot snapshot() {
        long now = clock.getAsLong();
        if (now - nextCheck >= 0) {
            synchronized (reloadLock) {
                if (now - nextCheck >= 0) {
                    nextCheck = now + PasswdFile.RECHECK.toNanos();
                    reread();
                }
            }
        }
        return current;
    }

    private void reread() {
        Snapshot s = current;
        try {
            if (s != null && Objects.equals(PasswdFile.Stamp.of(shadow), s.shadow())
                    && Objects.equals(PasswdFile.Stamp.of(passwd), s.passwd())) {
                return;
            }
            current = read();
            if (failing != null) {
                LOG.info("passdb shadow: {} can be read again", shadow);
                failing = null;
            } else {
                LOG.info("passdb shadow: {} read again: {} accounts", shadow, current.users().size());
            }
        } catch (IOException e) {
            String why = describe(e);
            if (!why.equals(failing)) {
                failing = why;
                LOG.error("{}; {}", why, s == null ? "every login gets a temporary failure until this is fixed"
                        : "the accounts read before are kept");
            }
        }
    }

    /** The number of accounts that may log in. */
    public int size() {
        Snapshot s = snapshot();
        return s == null ? 0 : (int) s.users().values().stream().filter(a -> a.refusal() == null).count();
    }

    @Override
    public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
        Snapshot s = snapshot();
        if (s == null) {
            org.saslauth.Meter.current().passdbError();
            return Verdict.UNAVAILABLE;
        }
        Account account = s.users().get(user);
        if (account == null || account.refusal() != null) {
            // as long as a known user's check, and its result dropped
            if (s.costliest() != null && slots.check(s.costliest(), password, deadline) == Match.TOO_BUSY) {
                return Verdict.OVERLOADED;
            }
            if (account == null) {
                return Verdict.UNKNOWN_USER;
            }
            LOG.info("passdb shadow: user {} refused, its password not checked: {}", Log.quote(user), account.refusal());
            return Verdict.WRONG_PASSWORD;
        }
        return switch (slots.check(account.hash(), password, deadline)) {
            case MATCHED -> Verdict.ACCEPTED;
            case NOT_MATCHED -> Verdict.WRONG_PASSWORD;
            case TOO_BUSY -> Verdict.OVERLOADED;
        };
    }

    @Override
    public void reload() {
        synchronized (reloadLock) {
            nextCheck = clock.getAsLong() + PasswdFile.RECHECK.toNanos();
            reread();
        }
    }
}
