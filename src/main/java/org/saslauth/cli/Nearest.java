package org.saslauth.cli;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The valid name nearest to a mistyped one, for "did you mean" in a message. Postfix and Dovecot
 * spell their settings with {@code _} ({@code smtpd_sasl_type}, {@code auth_failure_delay}), so
 * an administrator types {@code failure_delay} by habit: {@code _} counts as {@code -} and case
 * is ignored before the edit distance is counted.
 */
final class Nearest {

    private Nearest() {}

    /** The candidate nearest {@code given}, if one is near enough to be what was meant. */
    static Optional<String> of(String given, List<String> candidates) {
        String g = normal(given);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String c : candidates) {
            int d = distance(g, normal(c));
            if (d < bestDistance) {
                best = c;
                bestDistance = d;
            }
        }
        // One edit in four characters, at least one and at most three: a guess past that misleads.
        int allowed = Math.max(1, Math.min(3, g.length() / 4));
        return best != null && bestDistance <= allowed ? Optional.of(best) : Optional.empty();
    }

    /** {@code " (did you mean 'x'?)"}, or nothing when no candidate is near. */
    static String hint(String given, List<String> candidates) {
        return of(given, candidates).map(c -> " (did you mean '" + c + "'?)").orElse("");
    }

    private static String normal(String s) {
        return s.strip().replace('_', '-').toLowerCase(Locale.ROOT);
    }

    /** Levenshtein distance, two rows. */
    static int distance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitute, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] t = previous;
            previous = current;
            current = t;
        }
        return previous[b.length()];
    }
}
