package org.saslauth.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every relative link of README.md and docs/**.md reaches a file, and every {@code #anchor} a
 * heading of its target, as GitHub makes anchors. Links with a scheme (https:, mailto:) are not
 * followed: the tests need no network.
 */
class DocLinksTest {

    private static final Path BASE = Path.of(System.getProperty("basedir", "."));

    /** {@code [text](target)} or {@code ![alt](target "title")}; the text may hold brackets of code. */
    private static final Pattern LINK = Pattern.compile("!?\\[(?:[^\\[\\]]|\\[[^\\[\\]]*\\])*\\]\\(\\s*<?([^)\\s>]+)>?(?:\\s+\"[^\"]*\")?\\s*\\)");
    private static final Pattern HEADING = Pattern.compile("^ {0,3}#{1,6}\\s+(.*?)(?:\\s+#+)?\\s*$");
    private static final Pattern HTML_ANCHOR = Pattern.compile("<a\\s+(?:name|id)=\"([^\"]+)\"");
    private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:");

    @Test
    void everyRelativeLinkOfTheDocsReachesAFileAndAHeading() throws IOException {
        List<Path> pages = markdownPages(BASE);
        assertTrue(pages.contains(BASE.resolve("README.md")), "README.md is checked");
        assertTrue(pages.size() > 5, "docs/**.md are checked: " + pages);
        List<String> broken = brokenLinks(BASE, pages);
        assertTrue(broken.isEmpty(), "broken links:\n  " + String.join("\n  ", broken));
    }

    @Test
    void aMissingFileAMissingAnchorAndAnAnchorIntoAnotherPageAreFound(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("docs"));
        Files.writeString(dir.resolve("README.md"), """
                # Title
                ## Run the tests: `mvn verify`, then (maybe) more
                See [the tests](#run-the-tests-mvn-verify-then-maybe-more), [install](docs/install.md#by-hand),
                [gone](docs/gone.md), [no such heading](#nowhere) and [web](https://example.org/x.md).
                `[code](not/a/link.md)` and

                ```
                [fenced](not/a/link/either.md)
                ```
                ## Title
                [second title](#title-1) [third](#title-2) ![a picture](docs/install.md)
                """);
        Files.writeString(dir.resolve("docs/install.md"), """
                # Install
                ### By hand
                [back](../README.md#title) [wrong](../README.md#install) [self](install.md#by-hand)
                """);
        List<String> broken = brokenLinks(dir, markdownPages(dir));
        assertEquals(List.of(
                "README.md:4: docs/gone.md: no such file",
                "README.md:4: #nowhere: no heading of README.md makes that anchor",
                "README.md:11: #title-2: no heading of README.md makes that anchor",
                "docs/install.md:3: ../README.md#install: no heading of ../README.md makes that anchor"), broken);
    }

    @Test
    void anchorsAreMadeAsGitHubMakesThem() {
        assertEquals("run-the-tests", anchor("Run the tests"));
        assertEquals("where-users-come-from-passdb", anchor("Where users come from: passdb"));
        assertEquals("daemon-mode-one-saslauth-for-the-whole-host", anchor("Daemon mode: one saslauth for the whole host"));
        assertEquals("saslauth_time_limit-and-spawn8", anchor("`saslauth_time_limit` and **spawn(8)**"));
        assertEquals("cram-md5-and-scram", anchor("CRAM-MD5 and SCRAM"));
        assertEquals("the-docs-page", anchor("The [docs](docs/README.md) page"));
        assertEquals("row-8-beforeafter", anchor("Row 8 before/after"));
    }

    static List<Path> markdownPages(Path base) throws IOException {
        List<Path> pages = new ArrayList<>();
        if (Files.exists(base.resolve("README.md"))) {
            pages.add(base.resolve("README.md"));
        }
        Path docs = base.resolve("docs");
        if (Files.isDirectory(docs)) {
            try (Stream<Path> s = Files.walk(docs)) {
                s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
            }
        }
        return pages;
    }

    /** One line per broken link: {@code FILE:LINE: TARGET: why}. */
    static List<String> brokenLinks(Path base, List<Path> pages) throws IOException {
        List<String> broken = new ArrayList<>();
        Map<Path, Set<String>> anchors = new HashMap<>();
        for (Path page : pages) {
            List<String> lines = proseLines(Files.readAllLines(page));
            for (int i = 0; i < lines.size(); i++) {
                Matcher m = LINK.matcher(lines.get(i));
                while (m.find()) {
                    String target = m.group(1);
                    if (SCHEME.matcher(target).find()) {
                        continue;
                    }
                    String where = base.relativize(page) + ":" + (i + 1) + ": " + target + ": ";
                    int hash = target.indexOf('#');
                    String file = hash < 0 ? target : target.substring(0, hash);
                    Path to = file.isEmpty() ? page : page.getParent().resolve(file).normalize();
                    if (!Files.exists(to)) {
                        broken.add(where + "no such file");
                    } else if (hash >= 0) {
                        String anchor = target.substring(hash + 1);
                        if (!to.toString().endsWith(".md")) {
                            broken.add(where + "an anchor into a page that is not Markdown cannot be checked");
                        } else if (!anchors.computeIfAbsent(to, DocLinksTest::anchorsOf).contains(anchor)) {
                            broken.add(where + "no heading of " + (file.isEmpty() ? base.relativize(page) : file)
                                    + " makes that anchor");
                        }
                    }
                }
            }
        }
        return broken;
    }

    /**
     * The lines as prose: fenced code blocks blanked and code spans removed, so that a link
     * shown as code is not taken for one. Line numbers stay.
     */
    private static List<String> proseLines(List<String> lines) {
        List<String> prose = new ArrayList<>();
        String fence = null;
        for (String line : lines) {
            String stripped = line.stripLeading();
            if (fence == null && (stripped.startsWith("```") || stripped.startsWith("~~~"))) {
                fence = stripped.substring(0, 3);
                prose.add("");
            } else if (fence != null) {
                if (stripped.startsWith(fence)) {
                    fence = null;
                }
                prose.add("");
            } else {
                prose.add(line.replaceAll("(`+)(?:(?!\\1).)+?\\1", "``"));
            }
        }
        return prose;
    }

    private static Set<String> anchorsOf(Path page) {
        List<String> lines;
        try {
            lines = Files.readAllLines(page);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Set<String> anchors = new HashSet<>();
        Map<String, Integer> seen = new HashMap<>();
        String fence = null;
        for (String line : lines) {
            String stripped = line.stripLeading();
            if (fence == null && (stripped.startsWith("```") || stripped.startsWith("~~~"))) {
                fence = stripped.substring(0, 3);
                continue;
            } else if (fence != null) {
                if (stripped.startsWith(fence)) {
                    fence = null;
                }
                continue;
            }
            Matcher h = HEADING.matcher(line);
            if (h.matches()) {
                String a = anchor(h.group(1));
                int n = seen.merge(a, 1, Integer::sum) - 1;
                anchors.add(n == 0 ? a : a + "-" + n);
            }
            Matcher html = HTML_ANCHOR.matcher(line);
            while (html.find()) {
                anchors.add(html.group(1));
            }
        }
        return anchors;
    }

    /**
     * GitHub's anchor of a heading: its text as rendered (links by their text, no code or
     * emphasis marks), lower-case, punctuation dropped but {@code -} and {@code _}, spaces to
     * {@code -}.
     */
    static String anchor(String heading) {
        String text = heading.replaceAll("!?\\[([^\\]]*)\\]\\([^)]*\\)", "$1").replace("`", "").replace("*", "");
        return text.toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{M}\\p{N}\\p{Pc} -]", "").replace(' ', '-');
    }
}
