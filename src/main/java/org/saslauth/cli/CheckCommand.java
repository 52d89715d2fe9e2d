package org.saslauth.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.saslauth.Clock;
import org.saslauth.Deadline;
import org.saslauth.password.CostlyChecks;
import org.saslauth.store.CredentialStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code saslauth check}: like {@code doveconf -n} and {@code testsaslauthd} together. Reads the
 * configuration exactly as a helper does (the same {@link ConfigFile}, {@link ServingArgs} and
 * {@link Config}), as the user that serves, and reports every problem at once, one line each:
 * the config file's keys and values, the files that user cannot read, mechanisms the passdb
 * cannot serve, a backend it cannot reach, the daemon's socket directory, and with Postfix
 * installed what {@code postconf} says of {@code smtpd_sasl_*} and the spawn entry.
 */
@Command(name = "check", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {
            "Check the configuration as a helper would read it, as the user that serves,",
            "and Postfix's SASL settings: every problem at once, one line each.",
            "Exit 0 when nothing is wrong (warnings aside), 1 with errors."
        },
        footer = {"", ExitCodes.HELP})
final class CheckCommand implements Callable<Integer> {

    /** The config file the package installs, which its spawn entry and unit read. */
    static final Path PACKAGED_CONFIG = ConfigFile.PACKAGED;

    /** The user the package's spawn entry and unit serve as. */
    static final String PACKAGED_USER = "saslauth";

    /** How long the backend may take to answer one lookup. */
    static final Duration BACKEND_WAIT = Duration.ofSeconds(3);

    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE",
            description = "The config file to check (default: " + "/etc/saslauth/saslauth.properties" + ").")
    Path config;

    @Option(names = "--user", paramLabel = "USER",
            description = "The user that serves, whose access to files is checked (default: saslauth).")
    String user = PACKAGED_USER;

    @Option(names = "--postfix-config", paramLabel = "DIR",
            description = "Postfix's configuration directory, for postconf -c DIR (default: postconf's own).")
    Path postfixConfig;

    @Option(names = "--no-postfix", description = "Do not look at Postfix's configuration.")
    boolean noPostfix;

    private final List<String> errors = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Logging.toTerminal("off");
        Path file = config != null ? config : PACKAGED_CONFIG;
        checkUser();
        Optional<Options> options = readConfig(file);
        options.ifPresent(this::checkServing);
        if (!noPostfix) {
            checkPostfix(options);
        }
        for (String w : warnings) {
            out.println("warning: " + w);
        }
        for (String e : errors) {
            out.println("error: " + e);
        }
        out.println(errors.isEmpty()
                ? "saslauth check: " + file + ": no errors" + (warnings.isEmpty() ? "" : ", " + warnings.size() + " warning(s)")
                : "saslauth check: " + file + ": " + errors.size() + " error(s), " + warnings.size() + " warning(s)");
        out.flush();
        return errors.isEmpty() ? ExitCodes.OK : ExitCodes.FINDINGS;
    }

    // --- the user ----------------------------------------------------------------------------

    private boolean userExists;

    private void checkUser() {
        userExists = run(List.of("id", "-u", user)).status() == 0;
        if (!userExists) {
            errors.add("user " + user + " does not exist: create it (adduser --system --group " + user
                    + "), or name the serving user with --user");
        }
    }

    // --- the config file ---------------------------------------------------------------------

    private Map<String, String> raw = Map.of();
    private Map<ServingOption, String> origins = Map.of();

    /** Where a value came from: {@code config file F line N: KEY}. */
    private String origin(ServingOption o) {
        return origins.getOrDefault(o, o.longName);
    }

    private Optional<Options> readConfig(Path file) {
        if (!Files.exists(file)) {
            errors.add("config file " + file + " does not exist" + (config == null
                    ? ": name one with --config FILE" : ""));
            return Optional.empty();
        }
        readable(file, "config file " + file);
        String[] args = {"--config", file.toString()};
        ConfigFile.Contents contents;
        try {
            contents = ConfigFile.of(args);
        } catch (ConfigFile.Invalid e) {
            errors.add(e.getMessage());
            return Optional.empty();
        }
        raw = contents.raw();
        origins = contents.origins();
        errors.addAll(contents.problems());
        warnings.addAll(contents.warnings());
        Optional<Options> parsed = ServingArgs.parse(args, contents);
        if (parsed.isEmpty()) {
            errors.add("config file " + file + ": a value cannot be read; saslauth test --config " + file + " says which");
            return Optional.empty();
        }
        return Optional.of(parsed.get().from(contents, args));
    }

    // --- what a helper would serve -----------------------------------------------------------

    private void checkServing(Options o) {
        Config c;
        List<String> left = new ArrayList<>();
        try {
            c = Config.forServing(o, left);
        } catch (StartupError e) {
            errors.add(e.getMessage());
            return;
        }
        errors.addAll(left);
        Path penaltyPassword = o.path(ServingOption.PENALTY_STORE_PASSWORD_FILE);
        if (penaltyPassword != null) {
            readable(penaltyPassword, o.name(ServingOption.PENALTY_STORE_PASSWORD_FILE) + " " + penaltyPassword);
        }
        if (c.serving().mechanisms().contains("OREORE")) {
            warnings.add(o.name(ServingOption.MECHANISMS) + ": OREORE lets any client log in as any user without"
                    + " a password; list it only on a trusted test host");
        }
        if (c.serving().tokens() instanceof org.saslauth.oauth.IssuerTokens tokens) {
            for (ServingOption key : new ServingOption[] {ServingOption.OAUTH2_CLIENT_SECRET_FILE, ServingOption.OAUTH2_CA_FILE}) {
                Path file = o.path(key);
                if (file != null) {
                    readable(file, o.name(key) + " " + file);
                }
            }
            errors.addAll(tokens.problems(org.saslauth.Deadline.in(org.saslauth.Clock.SYSTEM, java.time.Duration.ofSeconds(10))));
        }
        c.log().file().ifPresent(log -> {
            Path parent = log.toAbsolutePath().getParent();
            if (Files.exists(log)) {
                writable(log, o.name(ServingOption.LOG_FILE) + " " + log);
            } else if (parent == null || !Files.isDirectory(parent)) {
                errors.add(o.name(ServingOption.LOG_FILE) + ": the directory of " + log + " does not exist");
            } else {
                writable(parent, o.name(ServingOption.LOG_FILE) + ": the directory " + parent);
            }
        });
        Path appPasswords = o.path(ServingOption.APP_PASSWORDS_FILE);
        if (appPasswords != null && Files.exists(appPasswords)) {
            readable(appPasswords, o.name(ServingOption.APP_PASSWORDS_FILE) + " " + appPasswords);
        } else if (appPasswords != null) { // none added yet: no app password works, the main ones do
            warnings.add(o.name(ServingOption.APP_PASSWORDS_FILE) + " " + appPasswords
                    + " does not exist yet: it holds no app password until saslauth app-password add makes it");
        }
        Passdb passdb = c.store().passdb();
        servedPassdb = passdb;
        boolean filesReadable = true;
        if (passdb instanceof Passdb.PasswdFile p) {
            filesReadable = readable(p.file(), o.name(ServingOption.PASSWD_FILE) + " " + p.file());
        } else if (passdb instanceof Passdb.Sql s && s.passwordFile().isPresent()) {
            filesReadable = readable(s.passwordFile().get(), o.name(ServingOption.SQL_PASSWORD_FILE) + " "
                    + s.passwordFile().get());
        } else if (passdb instanceof Passdb.Ldap l) {
            if (l.bindPasswordFile().isPresent()) {
                filesReadable &= readable(l.bindPasswordFile().get(), o.name(ServingOption.LDAP_BIND_PASSWORD_FILE)
                        + " " + l.bindPasswordFile().get());
            }
            if (l.caFile().isPresent()) {
                filesReadable &= readable(l.caFile().get(), o.name(ServingOption.LDAP_CA_FILE) + " " + l.caFile().get());
            }
        } else if (passdb instanceof Passdb.Shadow sh) {
            if (!asUser("-r", sh.file())) {
                filesReadable = false;
                errors.add(o.name(ServingOption.SHADOW_FILE) + " " + sh.file() + " cannot be read by user " + user
                        + ": passdb shadow needs the group shadow (usermod -aG shadow " + user
                        + ", or SupplementaryGroups=shadow in saslauth.service for the daemon)");
            }
        } else if (passdb instanceof Passdb.Checkpassword cp) {
            if (!asUser("-x", cp.program())) {
                errors.add(o.name(ServingOption.CHECKPASSWORD_PROGRAM) + " " + cp.program()
                        + " is not executable by user " + user);
            }
        }
        if (passdb.checksPasswords() && filesReadable) {
            checkBackend(c, passdb);
        }
        checkSockets();
    }

    /** Opens the store as a helper does and asks it for a user that cannot exist. */
    private void checkBackend(Config c, Passdb passdb) {
        CredentialStore store;
        try {
            store = c.store().open(1, true, false);
        } catch (StartupError e) {
            errors.add(passdb.describe() + ": " + e.getMessage());
            return;
        } catch (RuntimeException e) {
            errors.add(passdb.describe() + ": " + e);
            return;
        }
        try (store) {
            Deadline deadline = Deadline.in(Clock.SYSTEM, BACKEND_WAIT);
            byte[] password = "saslauth-check".getBytes(StandardCharsets.UTF_8);
            CredentialStore.Verdict v = store.verify("saslauth-check-no-such-user.invalid", password,
                    new CostlyChecks(1), deadline);
            if (v == CredentialStore.Verdict.UNAVAILABLE || v == CredentialStore.Verdict.OVERLOADED) {
                errors.add(passdb.describe() + " did not answer a lookup within " + BACKEND_WAIT.toSeconds()
                        + " s: check that the server is up and that its address, user and password are right"
                        + " (the reason is in the log of a helper, or run saslauth test --config FILE USER)");
            } else if (v == CredentialStore.Verdict.ACCEPTED) {
                warnings.add(passdb.describe() + " accepted a user that should not exist: check its query or filter");
            }
        }
    }

    /**
     * The daemon's own keys, which helpers pass over: each value as the daemon converts it, and
     * a metrics address that is not loopback needs allow-from.
     */
    private void checkDaemonValues() {
        for (ServingOption o : ServingOption.values()) {
            String value = raw.get(o.longName);
            if (o.applies != ServingOption.Applies.DAEMON || value == null) {
                continue;
            }
            try {
                o.type.convert(value);
            } catch (ServingOption.BadValue bad) {
                errors.add(origin(o) + ": " + bad.getMessage() + " (the daemon would not start)");
            }
        }
        String metrics = raw.get(ServingOption.METRICS_LISTEN.longName);
        if (metrics != null && raw.get(ServingOption.ALLOW_FROM.longName) == null) {
            try {
                if (!((org.saslauth.daemon.ListenAddress.Tcp) ServingOption.Type.TCP_ADDRESS.convert(metrics)).loopback()) {
                    errors.add(origin(ServingOption.METRICS_LISTEN) + ": " + metrics + " is not a loopback address: set"
                            + " allow-from to the scrapers' addresses, or listen on 127.0.0.1 (the daemon serves"
                            + " without metrics)");
                }
            } catch (ServingOption.BadValue reported) {
                // said above
            }
        }
    }

    /** The daemon's unix sockets: their directory must exist. */
    private void checkSockets() {
        checkDaemonValues();
        String listen = raw.get("listen");
        if (listen == null) {
            return;
        }
        for (String part : listen.split(",")) {
            String address = part.strip();
            if (!address.startsWith("unix:")) {
                continue;
            }
            Path socket = Path.of(address.substring("unix:".length()));
            Path parent = socket.toAbsolutePath().getParent();
            if (parent == null || !Files.isDirectory(parent)) {
                errors.add("listen: the directory of " + socket + " does not exist; the package makes"
                        + " /var/spool/postfix/saslauth (saslauth:postfix 0750), inside smtpd's chroot");
            }
        }
    }

    // --- Postfix -----------------------------------------------------------------------------

    private void checkPostfix(Optional<Options> options) {
        List<String> postconf = new ArrayList<>(List.of("postconf"));
        if (postfixConfig != null) {
            postconf.addAll(List.of("-c", postfixConfig.toString()));
        }
        List<String> main = new ArrayList<>(postconf);
        main.addAll(List.of("-h", "smtpd_sasl_auth_enable", "smtpd_sasl_type", "smtpd_sasl_path", "queue_directory"));
        Ran values = run(main);
        if (values.status() == 127 || values.status() < 0) {
            if (postfixConfig != null) {
                errors.add("postconf cannot be run: " + values.output().strip());
            }
            return; // no Postfix here
        }
        if (values.status() != 0) {
            if (postfixConfig == null) { // installed, not set up (no main.cf): nothing to check yet
                warnings.add("Postfix's configuration cannot be read (" + values.output().strip()
                        + "); its SASL settings were not checked");
            } else {
                errors.add("postconf: " + values.output().strip());
            }
            return;
        }
        String[] v = (values.output() + "\n\n\n\n").split("\n", -1);
        String authEnable = v[0].strip();
        String type = v[1].strip();
        String path = v[2].strip();
        Path queue = Path.of(v[3].strip().isEmpty() ? "/var/spool/postfix" : v[3].strip());
        List<String> masterCmd = new ArrayList<>(postconf);
        masterCmd.add("-M");
        List<String> paramCmd = new ArrayList<>(postconf);
        paramCmd.add("-P");
        List<String> services = run(masterCmd).output().lines().filter(l -> !l.isBlank()).toList();
        Map<String, String> overrides = new HashMap<>();
        for (String line : run(paramCmd).output().lines().toList()) {
            int eq = line.indexOf(" = ");
            if (eq > 0) {
                overrides.put(line.substring(0, eq).strip(), line.substring(eq + 3).strip());
            }
        }
        boolean anyAuth = false;
        for (String service : services) {
            String[] f = service.trim().split("\\s+");
            if (f.length < 8 || !f[7].equals("smtpd")) {
                continue;
            }
            String key = f[0] + "/" + f[1];
            String enabled = overrides.getOrDefault(key + "/smtpd_sasl_auth_enable", authEnable);
            if (!enabled.equals("yes")) {
                continue;
            }
            anyAuth = true;
            String serviceType = overrides.getOrDefault(key + "/smtpd_sasl_type", type);
            String servicePath = overrides.getOrDefault(key + "/smtpd_sasl_path", path);
            if (!serviceType.equals("dovecot")) {
                errors.add("Postfix service " + key + ": smtpd_sasl_type = " + serviceType
                        + "; saslauth speaks Dovecot's protocol: set smtpd_sasl_type = dovecot");
                continue;
            }
            if (f[0].equals("smtp") || f[0].endsWith(":smtp") || f[0].endsWith(":25")) {
                warnings.add("Postfix service " + key + " (port 25) offers AUTH: SMTP AUTH belongs on submission"
                        + " (587) and submissions (465); set smtpd_sasl_auth_enable = no in main.cf and"
                        + " -o smtpd_sasl_auth_enable=yes on those services in master.cf");
            }
            checkSaslPath(key, servicePath, queue, services, options);
        }
        if (!anyAuth) {
            warnings.add("Postfix: no smtpd service has smtpd_sasl_auth_enable = yes; saslauth is not asked");
        }
    }

    /** smtpd_sasl_path: a spawn entry in master.cf, or the daemon's socket. */
    private void checkSaslPath(String service, String saslPath, Path queue, List<String> services,
            Optional<Options> options) {
        if (saslPath.isEmpty()) {
            errors.add("Postfix service " + service + ": smtpd_sasl_path is empty: set it to private/saslauth"
                    + " (the spawn entry) or to the daemon's socket");
            return;
        }
        if (saslPath.startsWith("inet:")) {
            return; // a TCP daemon: nothing on disk to look at
        }
        Path socket = saslPath.startsWith("/") ? Path.of(saslPath) : queue.resolve(saslPath);
        String name = socket.getFileName().toString();
        if (!saslPath.startsWith("/") && saslPath.startsWith("private/")) {
            for (String entry : services) {
                String[] f = entry.trim().split("\\s+");
                if (f.length >= 8 && f[0].equals(name) && f[1].equals("unix")) {
                    if (f[7].equals("spawn")) {
                        checkSpawnEntry(service, name, f);
                    }
                    return; // another daemon's own service, or the spawn entry
                }
            }
        }
        if (!Files.exists(socket)) {
            errors.add("Postfix service " + service + ": smtpd_sasl_path = " + saslPath + " is " + socket
                    + ", which is neither a spawn service in master.cf nor a socket that exists: add the spawn"
                    + " entry (examples/master.cf) or point it at the daemon's socket (relative to "
                    + queue + ", smtpd's chroot)");
        }
    }

    /** {@code NAME unix - n n - - spawn user=U argv=PROGRAM ...}. */
    /** The passdb the config file names, once read. */
    private Passdb servedPassdb;

    private void checkSpawnEntry(String service, String name, String[] f) {
        String spawnUser = null;
        String spawnGroup = null;
        String argv = null;
        for (int i = 8; i < f.length; i++) {
            if (f[i].startsWith("user=")) {
                String[] ug = f[i].substring("user=".length()).split(":", 2);
                spawnUser = ug[0];
                spawnGroup = ug.length > 1 ? ug[1] : null;
            } else if (f[i].startsWith("argv=")) {
                argv = f[i].substring("argv=".length());
            }
        }
        if (argv == null) {
            errors.add("Postfix spawn service " + name + " has no argv=: add argv=/usr/sbin/saslauth --config "
                    + PACKAGED_CONFIG);
            return;
        }
        Path program = Path.of(argv);
        if (!Files.isExecutable(program)) {
            errors.add("Postfix spawn service " + name + " (for " + service + "): argv=" + argv
                    + " does not exist or is not executable");
        }
        if ((servedPassdb instanceof Passdb.Shadow || servedPassdb instanceof Passdb.Pam) && spawnUser != null
                && !"shadow".equals(spawnGroup)) {
            String said = "Postfix spawn service " + name + ": user=" + spawnUser
                    + (spawnGroup == null ? "" : ":" + spawnGroup) + " cannot read /etc/shadow for "
                    + servedPassdb.describe() + (servedPassdb instanceof Passdb.Pam ? " with pam_unix" : "")
                    + ": spawn(8) runs the helper with one group only, so write user=" + spawnUser
                    + ":shadow and make the config file readable by that group (chgrp shadow " + PACKAGED_CONFIG + ")";
            if (servedPassdb instanceof Passdb.Pam) {
                warnings.add(said); // pam_sss, pam_ldap need no such group
            } else {
                errors.add(said);
            }
        }
        if (spawnUser == null) {
            errors.add("Postfix spawn service " + name + " has no user=: add user=" + PACKAGED_USER);
        } else if (run(List.of("id", "-u", spawnUser)).status() != 0) {
            errors.add("Postfix spawn service " + name + ": user=" + spawnUser + " does not exist");
        } else if (!spawnUser.equals(user)) {
            warnings.add("Postfix spawn service " + name + " runs as " + spawnUser + ", not " + user
                    + ": the files were checked as " + user + " (--user " + spawnUser + " to check as it)");
        }
    }

    // --- access as the serving user ----------------------------------------------------------

    private boolean readable(Path file, String what) {
        if (!Files.exists(file)) {
            errors.add(what + " does not exist");
            return false;
        }
        if (!asUser("-r", file)) {
            errors.add(what + " cannot be read by user " + user + ": " + fix(file));
            return false;
        }
        return true;
    }

    private void writable(Path file, String what) {
        if (!asUser("-w", file)) {
            errors.add(what + " cannot be written by user " + user + ": " + fix(file));
        }
    }

    private String fix(Path file) {
        return "chgrp " + user + " and chmod g+r (or dpkg-statoverride) " + file
                + ", and make each directory above it searchable";
    }

    /**
     * {@code test TEST FILE} as the serving user: through {@code runuser} as root, directly when
     * that user is this process's own; otherwise it cannot be told, and a warning says so.
     */
    private boolean asUser(String test, Path file) {
        String me = System.getProperty("user.name");
        if (user.equals(me)) {
            return run(List.of("test", test, file.toString())).status() == 0;
        }
        if (!"root".equals(me)) {
            warnings.add("cannot check " + file + " as user " + user + " without root: run saslauth check as root");
            return true;
        }
        if (!userExists) {
            return true; // said already
        }
        return run(List.of("runuser", "-u", user, "--", "test", test, file.toString())).status() == 0;
    }

    // --- processes ---------------------------------------------------------------------------

    record Ran(int status, String output) {}

    /** Runs a command with no input; status 127 when it cannot be started. */
    static Ran run(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Ran(124, command.get(0) + " did not finish in 10 s");
            }
            return new Ran(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Ran(127, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Ran(124, "interrupted");
        }
    }
}
