package org.saslauth.store;

import static org.saslauth.Log.LOG;

import java.nio.file.Path;
import java.time.Duration;
import java.util.function.LongSupplier;
import org.saslauth.Deadline;
import org.saslauth.password.CostlyChecks;
import org.saslauth.password.ScramHash;
import org.saslauth.password.ScramShape;

/**
 * A passwd file that could not be used when serving started (missing, unreadable by the
 * helper's user, a line that is not a user): every login is a temporary failure until the file
 * can be read, and a login looks at it again at most once per {@link PasswdFile#RECHECK}, so
 * that logins resume by themselves once the file is fixed, without a restart (a daemon would
 * otherwise serve temporary failures until its next reload). The reason was logged at start;
 * a new reason is logged once, and the moment the file is read.
 */
public final class AwaitedPasswdFile implements CredentialStore {

    private final Path path;
    private final long recheckNanos;
    private final LongSupplier clock;
    private final Loader loader;
    private volatile PasswdFile loaded;
    private long nextTry;
    private String lastReason;

    /** Reads the file; a seam for the tests' clock. */
    interface Loader {
        PasswdFile load(Path path) throws PasswdFile.Invalid;
    }

    /**
     * @param reason why the file could not be used at start, already logged
     */
    public AwaitedPasswdFile(Path path, String reason) {
        this(path, reason, PasswdFile.RECHECK, System::nanoTime, PasswdFile::load);
    }

    AwaitedPasswdFile(Path path, String reason, Duration recheck, LongSupplier clock, Loader loader) {
        this.path = path;
        this.recheckNanos = recheck.toNanos();
        this.clock = clock;
        this.loader = loader;
        this.lastReason = reason;
        this.nextTry = clock.getAsLong() + recheckNanos;
    }

    /** The file's users once it could be read, or null while it cannot. */
    private PasswdFile file() {
        PasswdFile f = loaded;
        if (f != null) {
            return f;
        }
        synchronized (this) {
            if (loaded != null) {
                return loaded;
            }
            long now = clock.getAsLong();
            if (now - nextTry < 0) {
                return null;
            }
            nextTry = now + recheckNanos;
            try {
                loaded = loader.load(path);
                LOG.info("passwd file {} can be read now: logins are served again", path);
                return loaded;
            } catch (PasswdFile.Invalid e) {
                if (!e.getMessage().equals(lastReason)) {
                    lastReason = e.getMessage();
                    LOG.error("{}; every login gets a temporary failure until this is fixed", lastReason);
                }
                return null;
            }
        }
    }

    @Override
    public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
        PasswdFile f = file();
        return f == null ? Verdict.UNAVAILABLE : f.verify(user, password, slots, deadline);
    }

    @Override
    public Lookup lookup(String user, Deadline deadline) {
        PasswdFile f = file();
        return f == null ? new Lookup.Unavailable() : f.lookup(user, deadline);
    }

    @Override
    public ScramShape scramShape(ScramHash hash) {
        PasswdFile f = file();
        return f == null ? ScramShape.DEFAULT : f.scramShape(hash);
    }

    @Override
    public void reload() {
        synchronized (this) {
            nextTry = clock.getAsLong();
        }
        PasswdFile f = file();
        if (f != null) {
            f.reload();
        }
    }
}
