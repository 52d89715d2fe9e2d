package org.saslauth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/man/ is the option reference: the AsciiDoc pages the build makes from the command line's
 * model, committed so that GitHub renders them. These tests keep that copy equal to what the code
 * generates now, and the Postfix lines of the man page's EXAMPLES equal to those the docs give.
 */
class ManPageDocsTest {

    /** The one command that rewrites docs/man/ from the code. */
    static final String REGENERATE = "mvn -q test -Dtest=ManPageDocsTest -Dsaslauth.man.write=true";

    private static final Path BASE = Path.of(System.getProperty("basedir", "."));

    @Test
    void docsManHoldsTheManPagesTheCodeGeneratesNow() throws IOException {
        if (Boolean.getBoolean("saslauth.man.write")) {
            PackageFiles.writeManDocs(BASE);
        }
        Map<String, String> pages = PackageFiles.docsManPages(BASE);
        assertEquals(Set.of("saslauth.8.adoc", "saslauth-daemon.8.adoc", "saslauth-hash.8.adoc",
                "saslauth-test.8.adoc", "saslauth-check.8.adoc", "saslauth-penalty.8.adoc", "saslauth-app-password.8.adoc",
                "saslauth.properties.5.adoc"),
                pages.keySet());
        List<String> stale = staleness(BASE.resolve("docs/man"), pages);
        assertTrue(stale.isEmpty(), "docs/man/ is not what the code generates now; regenerate it with\n    "
                + REGENERATE + "\n  " + String.join("\n  ", stale));
    }

    @Test
    void aChangedAMissingAndAnExtraPageAreNamed(@TempDir Path dir) throws IOException {
        Map<String, String> pages = new LinkedHashMap<>();
        pages.put("a.8.adoc", "= a(8)\n\n== Name\n\na - one\n");
        pages.put("b.8.adoc", "= b(8)\n");
        Files.writeString(dir.resolve("a.8.adoc"), "= a(8)\n\n== Name\n\na - 1\n");
        Files.writeString(dir.resolve("old.8.adoc"), "= old(8)\n");
        assertEquals(List.of(
                "a.8.adoc: line 5 is \"a - 1\", the code makes \"a - one\"",
                "b.8.adoc: missing",
                "old.8.adoc: not a page the code makes"), staleness(dir, pages));
        Files.writeString(dir.resolve("a.8.adoc"), "= a(8)\n\n== Name\n\na - one\nmore\n");
        assertEquals("a.8.adoc: line 6 is \"more\", the code makes the end of the page",
                staleness(dir, pages).get(0));
    }

    @Test
    void theManPageExamplesGiveThePostfixLinesTheDocsGive() throws IOException {
        String page = PackageFiles.docsManPages(BASE).get("saslauth.8.adoc");
        Map<String, List<String>> man = manExamples(page);
        assertEquals(Set.of("main.cf", "master.cf"), man.keySet(), page);
        assertTrue(man.get("main.cf").contains("saslauth_time_limit = 3600s"), "spawn's limit raised: " + man);
        for (String doc : List.of("README.md", "docs/postfix-spawn.md")) {
            List<Map<String, List<String>>> blocks = docBlocks(Files.readString(BASE.resolve(doc)));
            assertFalse(blocks.isEmpty(), doc + " gives the package's main.cf and master.cf lines in one block");
            for (Map<String, List<String>> block : blocks) {
                assertEquals(man, block, doc + ": the spawn entry differs from saslauth(8)'s EXAMPLES");
            }
        }
        // and they are the lines of examples/, with the package's paths
        for (Map.Entry<String, List<String>> file : man.entrySet()) {
            List<String> example = PackageFiles.packagePaths(Files.readString(BASE.resolve("examples").resolve(file.getKey())))
                    .lines().toList();
            assertTrue(example.containsAll(file.getValue()), "examples/" + file.getKey() + " lacks some of " + file.getValue());
        }
    }

    @Test
    void aBlockOfTheDocsIsReadByItsFileComments() {
        String md = """
                text
                ```
                # /etc/postfix/main.cf
                a = b
                # /etc/postfix/master.cf
                x  unix  -  n  n  -  0  spawn
                  user=x argv=/usr/sbin/x
                ```
                ```
                other = block
                ```
                """;
        assertEquals(List.of(Map.of("main.cf", List.of("a = b"),
                "master.cf", List.of("x  unix  -  n  n  -  0  spawn", "  user=x argv=/usr/sbin/x"))), docBlocks(md));
    }

    /** What differs between the pages and the files of DIR, one line per file. */
    static List<String> staleness(Path dir, Map<String, String> pages) throws IOException {
        List<String> stale = new ArrayList<>();
        for (Map.Entry<String, String> page : pages.entrySet()) {
            Path file = dir.resolve(page.getKey());
            if (!Files.exists(file)) {
                stale.add(page.getKey() + ": missing");
                continue;
            }
            String text = Files.readString(file);
            if (text.equals(page.getValue())) {
                continue;
            }
            List<String> want = page.getValue().lines().toList();
            List<String> have = text.lines().toList();
            String why = ": differs in its line ends";
            for (int i = 0; i < Math.max(want.size(), have.size()); i++) {
                String w = i < want.size() ? "\"" + want.get(i) + "\"" : "the end of the page";
                String h = i < have.size() ? "\"" + have.get(i) + "\"" : "the end of the page";
                if (!w.equals(h)) {
                    why = ": line " + (i + 1) + " is " + h + ", the code makes " + w;
                    break;
                }
            }
            stale.add(page.getKey() + why);
        }
        Set<String> extra = new TreeSet<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".adoc") && !pages.containsKey(n))
                        .forEach(extra::add);
            }
        }
        extra.forEach(n -> stale.add(n + ": not a page the code makes"));
        return stale;
    }

    /** The man page's EXAMPLES blocks that follow "in /etc/postfix/FILE", by FILE. */
    private static Map<String, List<String>> manExamples(String page) {
        int from = page.indexOf("\n== Examples\n");
        int to = page.indexOf("\n== ", from + 1);
        Matcher m = Pattern.compile("/etc/postfix/(\\S+)\\n\\n----\\n(.*?)\\n----\\n", Pattern.DOTALL)
                .matcher(page.substring(from, to));
        Map<String, List<String>> files = new LinkedHashMap<>();
        while (m.find()) {
            files.put(m.group(1), m.group(2).lines().toList());
        }
        return files;
    }

    /**
     * The fenced blocks of a Markdown page that hold a {@code # /etc/postfix/master.cf} line,
     * each split at its {@code # /etc/postfix/FILE} lines.
     */
    static List<Map<String, List<String>>> docBlocks(String markdown) {
        List<Map<String, List<String>>> blocks = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)^```[^\\n]*\\n(.*?)^```", Pattern.DOTALL).matcher(markdown);
        while (m.find()) {
            String block = m.group(1);
            if (!block.contains("# /etc/postfix/master.cf\n")) {
                continue;
            }
            Map<String, List<String>> files = new LinkedHashMap<>();
            List<String> current = null;
            for (String line : block.lines().toList()) {
                if (line.startsWith("# /etc/postfix/")) {
                    current = new ArrayList<>();
                    files.put(line.substring("# /etc/postfix/".length()).strip(), current);
                } else if (current != null) {
                    current.add(line);
                }
            }
            blocks.add(files.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> List.copyOf(e.getValue()))));
        }
        return blocks;
    }
}
