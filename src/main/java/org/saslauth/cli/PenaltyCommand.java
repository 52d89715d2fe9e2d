package org.saslauth.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.saslauth.Clock;
import org.saslauth.Log;
import org.saslauth.penalty.PenaltyStore;
import org.saslauth.penalty.RedisOpener;
import org.saslauth.protocol.ClientAddress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code saslauth penalty list} and {@code saslauth penalty clear}: the banned addresses and
 * protected users of the penalty store the servers share ({@code penalty-store = redis://...}),
 * read from the same config file. A memory store lives inside each serving process, where no
 * command can reach it.
 */
@Command(name = "penalty", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {
            "The banned addresses and protected users of the shared penalty store",
            "(penalty-store = redis://... in the config file): list them, or clear one."
        },
        subcommands = {PenaltyCommand.List.class, PenaltyCommand.Clear.class},
        footer = {"", ExitCodes.HELP})
final class PenaltyCommand implements Callable<Integer> {

    /** How long {@code list} and {@code clear} wait for each answer of Redis. */
    static final java.time.Duration ADMIN_WAIT = java.time.Duration.ofSeconds(5);

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return ExitCodes.USAGE;
    }

    /** The store the config file names, opened, and the servers' {@code ipv6-prefix}. */
    record Opened(PenaltyStore store, int ipv6Prefix) {}

    /** The store the config file names, opened; empty (and said why) for a memory store or a bad file. */
    static Optional<Opened> open(Path config, PrintWriter err) {
        Path file = config != null ? config : CheckCommand.PACKAGED_CONFIG;
        Options o;
        try {
            String[] args = Files.exists(file) || config != null ? new String[] {"--config", file.toString()}
                    : new String[0];
            ConfigFile.Contents contents = ConfigFile.of(args);
            if (!contents.problems().isEmpty()) {
                err.println("saslauth penalty: " + String.join("; ", contents.problems()));
                return Optional.empty();
            }
            Optional<Options> parsed = ServingArgs.parse(args, contents);
            if (parsed.isEmpty()) {
                err.println("saslauth penalty: config file " + file + ": a value cannot be read; saslauth check says which");
                return Optional.empty();
            }
            o = parsed.get().from(contents, args);
        } catch (ConfigFile.Invalid e) {
            err.println("saslauth penalty: " + e.getMessage());
            return Optional.empty();
        }
        PenaltyStore.Opener opener;
        try {
            opener = Config.penaltyStore(o);
        } catch (StartupError e) {
            err.println("saslauth penalty: " + e.getMessage());
            return Optional.empty();
        }
        if (opener instanceof PenaltyStore.Memory) {
            err.println("saslauth penalty: penalty-store is memory in " + file + ": each serving process keeps its own"
                    + " counts, which no command can reach; share them with penalty-store = redis://HOST:PORT");
            return Optional.empty();
        }
        if (opener instanceof RedisOpener r) { // a command may wait longer than a login
            opener = r.waiting(ADMIN_WAIT);
        }
        return Optional.of(new Opened(opener.open(Clock.SYSTEM), o.count(ServingOption.IPV6_PREFIX)));
    }

    @Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Version.class,
            description = "Banned addresses and protected users, with the time left.")
    static final class List implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--config", paramLabel = "FILE",
                description = "The servers' config file (default: /etc/saslauth/saslauth.properties).")
        Path config;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            Logging.toTerminal("off");
            Optional<Opened> store = open(config, err);
            if (store.isEmpty()) {
                return ExitCodes.CONFIG;
            }
            try (PenaltyStore s = store.get().store()) {
                java.util.List<PenaltyStore.Ban> bans = s.bans();
                java.util.List<PenaltyStore.Protection> protections = s.protections();
                for (PenaltyStore.Ban b : bans) {
                    out.println("banned " + b.address() + " for " + b.left().toSeconds() + " s more (ban " + b.nth() + ")");
                }
                for (PenaltyStore.Protection p : protections) {
                    out.println("protected user " + Log.quote(p.user()) + " for " + p.left().toSeconds()
                            + " s more (failed from " + p.addresses() + " addresses)");
                }
                out.println(bans.size() + " banned, " + protections.size() + " protected in " + s.describe());
                return ExitCodes.OK;
            } catch (IllegalStateException e) {
                err.println("saslauth penalty: " + e.getMessage());
                return ExitCodes.SOFTWARE;
            }
        }
    }

    @Command(name = "clear", mixinStandardHelpOptions = true, versionProvider = Version.class,
            description = {"Lift the ban of ADDRESS and forget its failures, or with --user USER, lift that",
                "user's protection and forget its failures (its known networks stay).",
                "Servers that were answered the ban refuse it on their own for 30 s at most."})
    static final class Clear implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--config", paramLabel = "FILE",
                description = "The servers' config file (default: /etc/saslauth/saslauth.properties).")
        Path config;

        @Option(names = "--user", paramLabel = "USER", description = "The user whose protection to lift.")
        String user;

        @Parameters(arity = "0..1", paramLabel = "ADDRESS",
                description = "The address (an IPv6 address counts as its prefix, as the servers count it).")
        String address;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            if ((user == null) == (address == null)) {
                err.println("saslauth penalty clear: give an ADDRESS or --user USER");
                return ExitCodes.USAGE;
            }
            Logging.toTerminal("off");
            Optional<Opened> store = open(config, err);
            if (store.isEmpty()) {
                return ExitCodes.CONFIG;
            }
            try (PenaltyStore s = store.get().store()) {
                boolean had;
                String what;
                if (user != null) {
                    had = s.clearUser(user);
                    what = "user " + Log.quote(user);
                } else {
                    String key = ClientAddress.key(address, store.get().ipv6Prefix());
                    had = s.clearAddress(key);
                    what = "address " + key;
                }
                out.println((had ? "cleared " : "nothing to clear for ") + what);
                return ExitCodes.OK;
            } catch (IllegalStateException e) {
                err.println("saslauth penalty: " + e.getMessage());
                return ExitCodes.SOFTWARE;
            }
        }
    }
}
