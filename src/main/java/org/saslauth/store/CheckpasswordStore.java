package org.saslauth.store;

import static org.saslauth.Log.LOG;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.saslauth.Deadline;
import org.saslauth.password.CostlyChecks;

/**
 * Passwords checked by a program with the checkpassword interface of qmail and Dovecot's
 * {@code passdb checkpassword}: the program reads {@code user NUL password NUL} from file
 * descriptor 3 and exits 0 (accepted, after running its argument, here {@code /bin/true}), 1
 * (refused) or 111 (temporary failure); any other status, or running past {@link #TIME_LIMIT},
 * is a temporary failure too. Its standard output and error are discarded, so that a program
 * that floods them costs nothing.
 *
 * <p>Java cannot give a child a descriptor other than 0, 1 and 2, so the program is started
 * through {@code /bin/sh -c 'exec "$0" "$1" 3<&0 0</dev/null' PROGRAM /bin/true}: a fixed script
 * that moves the pipe from descriptor 0 to 3 and replaces itself with the program. No user data
 * passes through the shell: the name and password go down the pipe.
 */
public final class CheckpasswordStore implements CredentialStore {

    /**
     * How long a program may run when the login's deadline leaves more; with the failure delay,
     * well inside Postfix's 10 s.
     */
    public static final Duration TIME_LIMIT = Duration.ofSeconds(4);

    private static final String MOVE_TO_FD_3 = "exec \"$0\" \"$1\" 3<&0 0</dev/null";

    private final Path program;
    private final Duration timeLimit;
    private final Outage outage;

    private CheckpasswordStore(Path program, Duration timeLimit) {
        this.program = program;
        this.timeLimit = timeLimit;
        this.outage = new Outage("checkpassword program " + program);
    }

    public static CheckpasswordStore open(Path program) throws InvalidStoreConfig {
        return open(program, TIME_LIMIT);
    }

    static CheckpasswordStore open(Path program, Duration timeLimit) throws InvalidStoreConfig {
        if (!program.isAbsolute()) {
            throw new InvalidStoreConfig("checkpassword-program must be an absolute path, not " + program);
        }
        if (!Files.isRegularFile(program) || !Files.isExecutable(program)) {
            throw new InvalidStoreConfig("checkpassword-program " + program + " is not an executable file");
        }
        return new CheckpasswordStore(program, timeLimit);
    }

    @Override
    public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
        if (password.length == 0) {
            return Verdict.WRONG_PASSWORD;
        }
        Deadline by = deadline.atMost(timeLimit);
        if (by.passed()) {
            return Verdict.UNAVAILABLE; // nobody waits for the answer any more: no program started
        }
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", MOVE_TO_FD_3, program.toString(), "/bin/true")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/local/bin:/usr/bin:/bin");
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            outage.failed("cannot start it: " + Outage.describe(e));
            return Verdict.UNAVAILABLE;
        }
        byte[] name = user.getBytes(StandardCharsets.UTF_8);
        byte[] data = new byte[name.length + password.length + 2];
        System.arraycopy(name, 0, data, 0, name.length);
        System.arraycopy(password, 0, data, name.length + 1, password.length);
        try (OutputStream in = p.getOutputStream()) {
            in.write(data);
        } catch (IOException e) {
            // the program exited or closed descriptor 3 without reading: its status says the rest
        } finally {
            Arrays.fill(data, (byte) 0);
        }
        try {
            if (!by.await(nanos -> p.waitFor(nanos, TimeUnit.NANOSECONDS))) {
                kill(p);
                outage.failed("it did not finish in time (at most " + timeLimit.toMillis() + " ms) and was killed");
                return Verdict.UNAVAILABLE;
            }
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            return Verdict.UNAVAILABLE;
        }
        int status = p.exitValue();
        switch (status) {
            case 0:
                outage.answered();
                return Verdict.ACCEPTED;
            case 1:
                outage.answered();
                return Verdict.WRONG_PASSWORD;
            case 111:
                outage.failed("it answered a temporary failure (exit status 111)");
                return Verdict.UNAVAILABLE;
            default:
                LOG.error("checkpassword program {} exited with status {} (0, 1 or 111 expected)", program, status);
                return Verdict.UNAVAILABLE;
        }
    }

    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }
}
