package org.saslauth.e2e;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;

/**
 * A Debian package a test needs: installed with apt-get when missing (as root); otherwise the
 * test fails under {@code CI=true} and is skipped elsewhere, with the reason.
 */
final class Packages {

    private Packages() {}

    static synchronized void require(String executable, String pkg) {
        if (Files.isExecutable(Path.of(executable))) {
            return;
        }
        String problem;
        try {
            Map<String, String> env = Map.of("DEBIAN_FRONTEND", "noninteractive");
            PostfixInstance.Result r = PostfixInstance.run(Duration.ofMinutes(10), env, "apt-get",
                    "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q", "--no-install-recommends", pkg);
            problem = Files.isExecutable(Path.of(executable)) ? null
                    : "apt-get install " + pkg + " failed: " + PostfixInstance.tail(r.output(), 10);
        } catch (IOException e) {
            problem = "cannot install " + pkg + ": " + e;
        }
        if (problem == null) {
            return;
        }
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail(problem + " (CI=true: this test must run in CI)");
        }
        Assumptions.abort(problem);
    }
}
