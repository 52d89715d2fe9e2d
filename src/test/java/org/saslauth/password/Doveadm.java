package org.saslauth.password;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real {@code doveadm pw}, run in batches: one shell runs every call of a batch, so a test
 * class starts one process rather than hundreds. Arguments travel as octal escapes inside the
 * script, so passwords reach doveadm byte for byte whatever the JVM's locale.
 *
 * <p>When doveadm is missing it is installed (Debian's dovecot-core) if this runs as root with
 * apt-get; otherwise the tests fail under CI=true and are skipped elsewhere.
 */
final class Doveadm {

    private static final Path DOVEADM = Path.of("/usr/bin/doveadm");
    private static boolean ready;

    private Doveadm() {}

    /** One call: {@code doveadm pw -s scheme [-r rounds] [-u user] -p password}. */
    record Make(String scheme, byte[] password, Integer rounds, String user) {}

    /** One call: {@code doveadm pw -t hash -p password} (with {@code -u} for DIGEST-MD5). */
    record Test(String hash, byte[] password, String user) {}

    /** What one call printed (stdout and stderr, trimmed) and its exit status. */
    record Result(int status, String output) {}

    static synchronized void ensureInstalled() {
        if (ready) {
            return;
        }
        if (!Files.isExecutable(DOVEADM)) {
            install();
        }
        ready = true;
    }

    private static void install() {
        String ci = System.getenv("CI");
        boolean strict = ci != null && ci.equalsIgnoreCase("true");
        boolean root = "root".equals(System.getProperty("user.name"));
        String why;
        if (!root) {
            why = "doveadm (dovecot-core) is not installed and installing it needs root";
        } else if (!Files.isExecutable(Path.of("/usr/bin/apt-get"))) {
            why = "doveadm (dovecot-core) is not installed and there is no apt-get";
        } else {
            try {
                run(List.of("/bin/sh", "-c", "apt-get update -q >/dev/null 2>&1;"
                        + " DEBIAN_FRONTEND=noninteractive apt-get install -y -q dovecot-core >/dev/null 2>&1"), 600);
            } catch (IOException e) {
                throw new IllegalStateException("apt-get install dovecot-core: " + e.getMessage(), e);
            }
            if (Files.isExecutable(DOVEADM)) {
                return;
            }
            why = "apt-get install -y dovecot-core did not provide " + DOVEADM;
        }
        if (strict) {
            fail(why + " (CI=true: these tests must run)");
        }
        abort(why);
    }

    static List<Result> make(List<Make> calls) {
        List<String> commands = new ArrayList<>();
        for (Make m : calls) {
            StringBuilder c = new StringBuilder("doveadm pw -s ").append(arg(m.scheme().getBytes(StandardCharsets.UTF_8)));
            if (m.rounds() != null) {
                c.append(" -r ").append(m.rounds());
            }
            if (m.user() != null) {
                c.append(" -u ").append(arg(m.user().getBytes(StandardCharsets.UTF_8)));
            }
            c.append(" -p ").append(arg(m.password()));
            commands.add(c.toString());
        }
        return batch(commands);
    }

    static List<Result> test(List<Test> calls) {
        List<String> commands = new ArrayList<>();
        for (Test t : calls) {
            StringBuilder c = new StringBuilder("doveadm pw -t ").append(arg(t.hash().getBytes(StandardCharsets.UTF_8)));
            if (t.user() != null) {
                c.append(" -u ").append(arg(t.user().getBytes(StandardCharsets.UTF_8)));
            }
            c.append(" -p ").append(arg(t.password()));
            commands.add(c.toString());
        }
        return batch(commands);
    }

    /** A shell word that expands to exactly these bytes. */
    private static String arg(byte[] bytes) {
        StringBuilder s = new StringBuilder("\"$(printf '");
        for (byte b : bytes) {
            s.append('\\').append(String.format("%03o", b & 0xff));
        }
        return s.append("')\"").toString();
    }

    private static List<Result> batch(List<String> commands) {
        ensureInstalled();
        StringBuilder script = new StringBuilder();
        for (int i = 0; i < commands.size(); i++) {
            script.append("out=$(").append(commands.get(i)).append(" 2>&1 </dev/null); ")
                    .append("printf '@@ ").append(i).append(" %s %s\\n' \"$?\" \"$(printf '%s' \"$out\" | tr '\\n' ' ')\"\n");
        }
        String output;
        try {
            Path file = Files.createTempFile("doveadm-batch", ".sh");
            try {
                Files.writeString(file, script, StandardCharsets.UTF_8);
                output = run(List.of("/bin/sh", file.toString()), 300);
            } finally {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            throw new IllegalStateException("running doveadm: " + e.getMessage(), e);
        }
        Result[] results = new Result[commands.size()];
        for (String line : output.split("\n")) {
            if (!line.startsWith("@@ ")) {
                continue;
            }
            String[] f = line.split(" ", 4);
            results[Integer.parseInt(f[1])] = new Result(Integer.parseInt(f[2]), f.length > 3 ? f[3].strip() : "");
        }
        for (int i = 0; i < results.length; i++) {
            if (results[i] == null) {
                throw new IllegalStateException("no result for doveadm call " + i + "; output: " + output);
            }
        }
        return List.of(results);
    }

    private static String run(List<String> command, int timeoutSeconds) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("timed out: " + command);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return new String(out, StandardCharsets.UTF_8);
    }
}
