package org.saslauth.store;

import static org.saslauth.Log.LOG;

import java.nio.file.Files;
import java.nio.file.Path;
import org.saslauth.Deadline;
import org.saslauth.Log;
import org.saslauth.os.Libc;
import org.saslauth.os.Pam;
import org.saslauth.password.CostlyChecks;

/**
 * {@code --passdb pam}: each login through Linux-PAM's {@code auth} and {@code account} phases
 * for the service {@code --pam-service} ({@code /etc/pam.d/saslauth} by default, which the
 * package installs with Debian's {@code common-auth} and {@code common-account}), the client's
 * address as {@code PAM_RHOST}. The modules decide; saslauth never sees a hash.
 *
 * <p>PAM modules block (pam_unix runs {@code unix_chkpwd}, pam_ldap asks a server): a login
 * runs on the engine's workers like any passdb lookup, and one not answered by its deadline is
 * answered a temporary failure by the engine. With {@code pam_unix}, a serving user that is not
 * root checks only its own password unless it is in the group {@code shadow}.
 */
public final class PamStore implements CredentialStore {

    private final String service;
    private final Outage outage;
    /**
     * Linux-PAM through JNA, loaded on a thread of its own as the store opens (the handshake does
     * not wait for it; the first login does, if it comes first); null until then.
     */
    private volatile Pam pam;
    private String pamWhyNot;

    private PamStore(String service) {
        this.service = service;
        this.outage = new Outage("PAM service " + service);
    }

    /** PAM, loaded now if not yet; null (and the reason logged once) when it cannot be. */
    private Pam pam() {
        Pam p = pam;
        if (p == null) {
            synchronized (this) {
                if (pam == null && pamWhyNot == null) {
                    try {
                        pam = Pam.load();
                    } catch (Libc.Unavailable e) {
                        pamWhyNot = e.getMessage();
                        LOG.error("passdb pam: {}; every login gets a temporary failure", pamWhyNot);
                    }
                }
                p = pam;
            }
        }
        return p;
    }

    /**
     * @param failFast whether a service without its file in {@code /etc/pam.d} is an error now
     *     ({@code test}); serving, it is logged and its logins are temporary failures
     * @throws InvalidStoreConfig when PAM cannot be loaded, or failing fast
     */
    public static PamStore open(String service, boolean failFast) throws InvalidStoreConfig {
        if (service.isEmpty() || service.contains("/") || service.startsWith(".")) {
            throw new InvalidStoreConfig("pam-service '" + service + "' is not a service name (a file of /etc/pam.d)");
        }
        Path file = Path.of("/etc/pam.d", service);
        if (!Files.isRegularFile(file)) {
            String why = "passdb pam: " + file + " does not exist, and PAM would use its service 'other' (which"
                    + " denies everyone on Debian): install the package's /etc/pam.d/saslauth, or name a service"
                    + " with pam-service";
            if (failFast) {
                throw new InvalidStoreConfig(why);
            }
            LOG.error("{}", why);
        }
        PamStore store = new PamStore(service);
        if (failFast && store.pam() == null) { // saslauth test: say it now
            throw new InvalidStoreConfig("passdb pam: " + store.pamWhyNot);
        }
        if (!failFast) {
            Thread t = new Thread(store::pam, "saslauth-pam");
            t.setDaemon(true);
            t.start();
        }
        return store;
    }

    @Override
    public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
        if (deadline.passed()) {
            return Verdict.UNAVAILABLE;
        }
        for (byte b : password) {
            if (b == 0) {
                return Verdict.WRONG_PASSWORD;
            }
        }
        if (!Files.isRegularFile(Path.of("/etc/pam.d", service))) {
            outage.failed("/etc/pam.d/" + service + " does not exist");
            return Verdict.UNAVAILABLE;
        }
        Pam p = pam();
        if (p == null) {
            return Verdict.UNAVAILABLE;
        }
        Pam.Result r = p.login(service, user, password, Client.ADDRESS.get());
        switch (r.status()) {
            case Pam.SUCCESS:
                outage.answered();
                return Verdict.ACCEPTED;
            case Pam.USER_UNKNOWN:
                outage.answered();
                return Verdict.UNKNOWN_USER;
            case Pam.AUTH_ERR:
            case Pam.CRED_INSUFFICIENT:
            case Pam.MAXTRIES:
            case Pam.PERM_DENIED:
            case Pam.ACCT_EXPIRED:
            case Pam.NEW_AUTHTOK_REQD:
                outage.answered();
                if (!r.phase().equals("auth") || r.status() != Pam.AUTH_ERR) {
                    LOG.info("passdb pam: user {} refused in the {} phase: {}", Log.quote(user), r.phase(), r.message());
                }
                return Verdict.WRONG_PASSWORD;
            default:
                outage.failed(r.phase() + " phase: " + r.message() + " (status " + r.status() + ")");
                return Verdict.UNAVAILABLE;
        }
    }
}
