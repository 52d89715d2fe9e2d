package org.saslauth.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.codegen.docgen.manpage.ManPageGenerator;

/**
 * Writes, at build time, what the Debian package holds besides the jar and {@code src/deb}
 * (see the jdeb plugin in pom.xml). Run by exec-maven-plugin from the test classpath, so
 * picocli-codegen never reaches the jar.
 *
 * <ul>
 *   <li>{@code sources BASEDIR OUT VERSION MAINTAINER}: the manual pages as AsciiDoc, from the
 *       command line's own model ({@link Saslauth#commandLine()}: every option of the
 *       {@link ServingOption} table and of each subcommand), so {@code --help} and {@code man}
 *       never disagree, and {@code saslauth.properties(5)} from the table; the bash completion
 *       from the same model; the systemd units and Postfix lines of {@code examples/} with the
 *       package's paths; the doc directory (changelog, copyright, README, examples).
 *   <li>{@code gzip-man ROFF OUT}: the pages Asciidoctor made, as {@code gzip -9n} would.
 *   <li>{@code man-docs BASEDIR}: the same AsciiDoc pages into {@code docs/man/}, the copy
 *       that GitHub renders (also {@code -Dsaslauth.man.write=true} on {@code ManPageDocsTest}).
 * </ul>
 */
public final class PackageFiles {

    /** The launcher's path in the examples (a manual install) and in the package. */
    static final Map<String, String> PATHS = Map.of("/opt/saslauth/saslauth", "/usr/sbin/saslauth");

    private PackageFiles() {}

    public static void main(String[] args) throws IOException {
        if (args.length == 5 && args[0].equals("sources")) {
            sources(Path.of(args[1]), Path.of(args[2]), args[3], args[4]);
        } else if (args.length == 3 && args[0].equals("gzip-man")) {
            gzipMan(Path.of(args[1]), Path.of(args[2]));
        } else if (args.length == 2 && args[0].equals("man-docs")) {
            writeManDocs(Path.of(args[1]));
        } else {
            throw new IllegalArgumentException(
                    "usage: sources BASEDIR OUT VERSION MAINTAINER | gzip-man ROFF OUT | man-docs BASEDIR");
        }
    }

    static void sources(Path base, Path out, String version, String maintainer) throws IOException {
        Path adoc = Files.createDirectories(out.resolve("adoc"));
        for (Map.Entry<String, String> page : manPages(base, version).entrySet()) {
            write(adoc.resolve(page.getKey().replaceFirst("\\.[1-8]$", "") + ".adoc"), page.getValue());
        }
        CommandLine cl = Saslauth.commandLine();

        // sourced by bash-completion, not run: no #! line
        write(Files.createDirectories(out.resolve("completion")).resolve("saslauth"),
                AutoComplete.bash("saslauth", cl).replaceFirst("\\A#!.*\\n", ""));

        Path systemd = Files.createDirectories(out.resolve("systemd"));
        for (String unit : List.of("saslauth.socket", "saslauth.service")) {
            String text = packagePaths(Files.readString(base.resolve("examples").resolve(unit)));
            write(systemd.resolve(unit), "# " + unit + " of the saslauth package; see saslauth(8) and\n"
                    + "# /usr/share/doc/saslauth/README.md.gz. Not enabled on install; for daemon mode:\n"
                    + "#     systemctl enable --now saslauth.socket\n"
                    + "# Change it with `systemctl edit " + unit + "`, not here.\n#\n" + withoutLeadingComment(text));
        }

        Path doc = Files.createDirectories(out.resolve("doc"));
        Path examples = Files.createDirectories(doc.resolve("examples"));
        for (String example : List.of("main.cf", "master.cf", "fail2ban-filter.conf", "fail2ban-jail.conf",
                "exim4-dovecot-auth.conf", "chasquid-dovecot.conf")) {
            write(examples.resolve(example), packagePaths(Files.readString(base.resolve("examples").resolve(example))));
        }
        Path src = base.resolve("src/deb");
        write(doc.resolve("copyright"), Files.readString(src.resolve("copyright")));
        Files.write(doc.resolve("changelog.gz"), gzip(Files.readString(src.resolve("changelog"))
                .replace("@VERSION@", version).replace("@MAINTAINER@", maintainer).getBytes(StandardCharsets.UTF_8)));
        Files.write(doc.resolve("README.md.gz"), gzip(Files.readAllBytes(base.resolve("README.md"))));
    }

    /**
     * Every manual page as AsciiDoc, by its name and section ({@code saslauth.8}, ...), in the
     * order the main page lists the commands. The build turns them into roff; docs/man/ holds
     * a copy ({@code ManPageDocsTest} keeps it current).
     */
    static Map<String, String> manPages(Path base, String version) throws IOException {
        Map<String, String> pages = new LinkedHashMap<>();
        CommandLine cl = Saslauth.commandLine();
        StringBuilder commands = new StringBuilder();
        for (CommandLine sub : cl.getSubcommands().values()) {
            String page = manPage(sub.getCommandSpec(), version, "\n== See also\n\n*saslauth*(8), *saslauth.properties*(5)\n");
            StringBuilder nested = new StringBuilder(); // penalty list, app-password add...: their options too
            for (CommandLine subsub : sub.getSubcommands().values()) {
                nested.append(commandSection(subsub.getCommandSpec(),
                        manPage(subsub.getCommandSpec(), version, "")));
            }
            if (nested.length() > 0) {
                String exitTag = "// tag::picocli-generated-man-section-exit-status[]";
                page = page.contains(exitTag) ? page.replace(exitTag, nested + exitTag) : page + nested;
            }
            pages.put("saslauth-" + sub.getCommandName() + ".8", page);
            commands.append(commandSection(sub.getCommandSpec(), page));
        }
        String main = manPage(cl.getCommandSpec(), version, mainExtras());
        String exitTag = "// tag::picocli-generated-man-section-exit-status[]";
        pages.put("saslauth.8", main.replace(exitTag, commands + exitTag));
        pages.put("saslauth.properties.5",
                propertiesPage(version, Files.readString(base.resolve("examples/saslauth.properties"))));
        return pages;
    }

    /**
     * The pages as docs/man/ holds them ({@code saslauth.8.adoc}, ...), for the version the
     * build filtered into the classes, so that the copy reads as {@code man} would show it.
     */
    static Map<String, String> docsManPages(Path base) throws IOException {
        String version = new Version().getVersion()[0].replaceFirst("^saslauth ", "");
        Map<String, String> pages = new LinkedHashMap<>();
        manPages(base, version).forEach((name, text) -> pages.put(name + ".adoc", text));
        return pages;
    }

    /** Writes {@link #docsManPages} into BASEDIR/docs/man/, replacing what is there. */
    static void writeManDocs(Path base) throws IOException {
        Path dir = Files.createDirectories(base.resolve("docs/man"));
        for (Map.Entry<String, String> page : docsManPages(base).entrySet()) {
            write(dir.resolve(page.getKey()), page.getValue());
        }
    }

    /** The example's paths of a manual install (/opt/saslauth) replaced by the package's. */
    static String packagePaths(String text) {
        for (Map.Entry<String, String> e : PATHS.entrySet()) {
            text = text.replace(e.getKey(), e.getValue());
        }
        return text.replace("Install as /opt/saslauth/saslauth next to /opt/saslauth/saslauth.jar.",
                "Installed as /usr/sbin/saslauth.");
    }

    /**
     * The unit without the first paragraph of its leading comment (how to install it by hand);
     * later paragraphs (e.g. the sockets for other clients) stay.
     */
    private static String withoutLeadingComment(String text) {
        int i = 0;
        while (text.startsWith("#", i) && !text.startsWith("#\n", i)) {
            i = text.indexOf('\n', i) + 1;
        }
        if (text.startsWith("#\n", i)) {
            i += 2;
        }
        return text.substring(i);
    }

    /**
     * A subcommand's synopsis, description and options as one section of saslauth(8), so that
     * one page has every command and option.
     */
    private static String commandSection(CommandSpec spec, String page) {
        int from = page.indexOf("== Synopsis");
        int to = page.indexOf("// end::picocli-generated-man-section-options[]");
        String body = page.substring(from, to).replaceAll("(?m)^== ", "=== ")
                .replaceAll("(?m)^// .*\n", "");
        int exit = page.indexOf("== Exit status");
        if (exit >= 0 && !exitStatus(spec).equals(exitStatus(spec.root()))) { // else the page's own
            body += page.substring(exit, page.indexOf("\n\n", page.indexOf("\n\n", exit) + 2)).replaceFirst("^== ", "=== ") + "\n\n";
        }
        return "== Command " + spec.qualifiedName() + "\n\n" + body;
    }

    /**
     * The exit statuses of the help footer ({@link ExitCodes#HELP}: "  0   text" lines after
     * "Exit status:") as a section; picocli's generator leaves such footers out.
     */
    private static String exitStatus(CommandSpec spec) {
        StringBuilder list = new StringBuilder();
        boolean in = false;
        for (String text : spec.usageMessage().footer()) {
            for (String line : text.split("\n")) {
                if (line.strip().equals("Exit status:")) {
                    in = true;
                } else if (in && line.matches("\\s+\\d+\\s+.*")) {
                    String[] parts = line.strip().split("\\s+", 2);
                    list.append('*').append(parts[0]).append("*::\n  ").append(parts[1].replace("{", "\\{")).append('\n');
                }
            }
        }
        return list.length() == 0 ? "" : "== Exit status\n\n" + list + "\n";
    }

    /** picocli's page for one command, in section 8, with more sections after its own. */
    static String manPage(CommandSpec spec, String version, String extras) {
        StringWriter sw = new StringWriter();
        try (PrintWriter pw = new PrintWriter(sw)) {
            ManPageGenerator.writeSingleManPage(pw, spec);
        }
        String exitTag = "// tag::picocli-generated-man-section-exit-status[]";
        String page = sw.toString().replace(exitTag, exitTag + "\n" + exitStatus(spec))
                .replace(":manvolnum: 1", ":manvolnum: 8")
                .replace("(1)\n", "(8)\n");
        page = page.replaceFirst("(?m)^:mansource: .*$", ":mansource: saslauth " + version)
                .replaceFirst("(?m)^:manmanual: .*$", ":manmanual: saslauth Manual");
        return page + extras;
    }

    private static String mainExtras() {
        return """

                == Files

                /usr/sbin/saslauth::
                  The launcher: runs /usr/share/saslauth/saslauth.jar with flags for a fast start, and
                  `saslauth cds` makes the class-data-sharing archive /var/cache/saslauth/saslauth.jsa
                  (the package does so on install and after upgrades of saslauth or of Java).

                /etc/saslauth/saslauth.properties::
                  The options, read with `--config`; see *saslauth.properties*(5).

                /etc/saslauth/users.passwd::
                  The users, in Dovecot's passwd-file format (`user:\\{SCHEME}hash`).

                /var/log/saslauth/saslauth.log::
                  The log: one line per login attempt, for fail2ban. Reopened within a second
                  after log rotation; /etc/logrotate.d/saslauth rotates it weekly.

                /usr/lib/systemd/system/saslauth.socket, /usr/lib/systemd/system/saslauth.service::
                  Daemon mode: `systemctl enable --now saslauth.socket`, then
                  `smtpd_sasl_path = private/saslauth` in Postfix's main.cf. Not enabled by default.

                /etc/init.d/saslauth, /etc/default/saslauth::
                  Daemon mode without systemd: `update-rc.d saslauth enable && service saslauth start`
                  runs the daemon as the user saslauth on /var/spool/postfix/saslauth/auth (the
                  package makes that directory, saslauth:postfix 0750, inside smtpd's chroot), then
                  `smtpd_sasl_path = saslauth/auth`. The options are in /etc/default/saslauth. Not
                  enabled by default; under systemd, saslauth.service masks it.

                /usr/share/doc/saslauth/examples/::
                  Postfix's main.cf and master.cf lines, fail2ban filter and jail, Exim and chasquid.

                == Examples

                Postfix, one helper per smtpd under *spawn*(8): in /etc/postfix/master.cf

                ----
                saslauth  unix  -       n       n       -       0       spawn
                  user=saslauth argv=/usr/sbin/saslauth --config /etc/saslauth/saslauth.properties
                ----

                and in /etc/postfix/main.cf

                ----
                smtpd_sasl_auth_enable = yes
                smtpd_sasl_type = dovecot
                smtpd_sasl_path = private/saslauth
                saslauth_time_limit = 3600s
                ----

                Add a user:

                ----
                printf 'alice:%s\\n' "$(saslauth hash)" >> /etc/saslauth/users.passwd
                ----

                Check a login as the server would:

                ----
                saslauth test --config /etc/saslauth/saslauth.properties alice
                ----

                == See also

                *saslauth.properties*(5), *saslauth-hash*(8), *saslauth-test*(8), *saslauth-check*(8), *saslauth-daemon*(8),
                *saslauth-penalty*(8), *saslauth-app-password*(8),
                *postconf*(5), *spawn*(8), *doveadm-pw*(1)
                """;
    }

    /** saslauth.properties(5): every key of the {@link ServingOption} table. */
    static String propertiesPage(String version, String example) {
        StringBuilder keys = new StringBuilder();
        for (ServingOption o : ServingOption.values()) {
            if (o == ServingOption.CONFIG) {
                continue; // not a key: one file does not name another
            }
            String description = o.description
                    .replace("${DEFAULT-VALUE}", o.defaultValue == null ? "" : o.defaultValue)
                    .replace("%%", "%")
                    .replace("{", "\\{");
            keys.append('*').append(o.longName).append("* = _").append(o.label).append("_::\n  ")
                    .append(description);
            if (o.applies == ServingOption.Applies.DAEMON) {
                keys.append(" Read by *saslauth daemon* only; helpers pass over it.");
            } else if (o.applies.takenBy(ServingOption.For.TEST)) {
                keys.append(" Also read by *saslauth test*.");
            }
            keys.append("\n\n");
        }
        return """
                = saslauth.properties(5)
                :doctype: manpage
                :manmanual: saslauth Manual
                :mansource: saslauth %s

                == Name

                saslauth.properties - options of saslauth, as a file

                == Synopsis

                /etc/saslauth/saslauth.properties

                == Description

                *saslauth*(8) and *saslauth daemon* read this file when given `--config FILE`.
                Each line `key = value` sets the option `--key`; options on the command line win.
                Lines starting with `#` or `!` are comments (the file is read as Java
                properties). The file is a regular file of at most 64 KiB of UTF-8. An unknown
                key stops saslauth with exit status 3, naming it; a bad value is a usage error
                (exit status 2), as on the command line; a key set twice is warned about in the
                log and the last one wins. The keys are the options of `saslauth --help` and
                `saslauth daemon --help` but `--config` itself, `--help` and `--version`. One
                file may serve both: helpers pass over the keys of the daemon alone, and
                *saslauth test* over those of serving. A repeatable option (`listen`) takes
                its values as one comma-separated list.

                == Keys

                %s
                == Example

                ----
                %s----

                == Files

                /etc/saslauth/saslauth.properties::
                  The package's file, a conffile: upgrades keep its changes.

                == See also

                *saslauth*(8), *saslauth-daemon*(8)
                """.formatted(version, keys, example);
    }

    static void gzipMan(Path roff, Path out) throws IOException {
        List<Path> pages;
        try (Stream<Path> s = Files.list(roff)) {
            pages = s.filter(p -> p.getFileName().toString().matches(".*\\.[1-8]")).sorted().toList();
        }
        if (pages.isEmpty()) {
            throw new IOException("no manual pages in " + roff);
        }
        for (Path page : pages) {
            String name = page.getFileName().toString();
            Path dir = Files.createDirectories(out.resolve("man" + name.charAt(name.length() - 1)));
            Files.write(dir.resolve(name + ".gz"), gzip(Files.readAllBytes(page)));
        }
    }

    /** As {@code gzip -9n}: best compression, no name, no time stamp, so builds repeat. */
    static byte[] gzip(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 2, 3});
        Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION, true);
        deflater.setInput(data);
        deflater.finish();
        byte[] buf = new byte[8192];
        while (!deflater.finished()) {
            out.write(buf, 0, deflater.deflate(buf));
        }
        deflater.end();
        CRC32 crc = new CRC32();
        crc.update(data);
        long c = crc.getValue();
        int n = data.length;
        out.writeBytes(new byte[] {(byte) c, (byte) (c >> 8), (byte) (c >> 16), (byte) (c >> 24),
                (byte) n, (byte) (n >> 8), (byte) (n >> 16), (byte) (n >> 24)});
        return out.toByteArray();
    }

    private static void write(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }
}
