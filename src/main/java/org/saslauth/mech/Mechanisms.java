package org.saslauth.mech;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.saslauth.password.ScramHash;

/** The mechanisms saslauth knows, and the ones an operator enabled. */
public final class Mechanisms {

    /** Every mechanism saslauth can serve. A new mechanism is one class and one entry here. */
    public static final List<Mechanism> BUILT_IN = List.of(
            new PlainMechanism(),
            new LoginMechanism(),
            new OreoreMechanism(),
            new CramMd5Mechanism(),
            new ScramMechanism(ScramHash.SHA_1),
            new ScramMechanism(ScramHash.SHA_256),
            new BearerTokenMechanism(BearerTokenMechanism.Dialect.OAUTHBEARER),
            new BearerTokenMechanism(BearerTokenMechanism.Dialect.XOAUTH2));

    /** The default for {@code --mechanisms}. */
    public static final String DEFAULT = "PLAIN,LOGIN";

    private final List<Mechanism> enabled;

    private Mechanisms(List<Mechanism> enabled) {
        this.enabled = List.copyOf(enabled);
    }

    /**
     * Parses a comma-separated list such as {@code plain,LOGIN}, matched as {@link #find} matches.
     *
     * @throws IllegalArgumentException naming an unknown mechanism, or for an empty list
     */
    public static Mechanisms parse(String list) {
        List<Mechanism> out = new ArrayList<>();
        for (String part : list.split(",")) {
            String name = part.strip();
            if (name.isEmpty()) {
                continue;
            }
            Mechanism m = builtIn(name);
            if (m == null) {
                throw new IllegalArgumentException("unknown mechanism '" + name + "' (known: " + names(BUILT_IN) + ")");
            }
            if (!out.contains(m)) {
                out.add(m);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no mechanism listed");
        }
        return new Mechanisms(out);
    }

    // Loops rather than streams here and below: this runs before the handshake, and the first
    // stream pipeline of the process costs milliseconds of class loading and set-up.
    private static Mechanism builtIn(String name) {
        for (Mechanism b : BUILT_IN) {
            if (asciiEqualsIgnoreCase(b.name(), name)) {
                return b;
            }
        }
        return null;
    }

    public List<Mechanism> enabled() {
        return enabled;
    }

    /**
     * The enabled mechanism of that name, matched case-insensitively in ASCII only, as Dovecot
     * does ({@code auth plain} works, {@code PLA\u0131N} does not).
     */
    public Optional<Mechanism> find(String name) {
        for (Mechanism m : enabled) {
            if (asciiEqualsIgnoreCase(m.name(), name)) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }

    static boolean asciiEqualsIgnoreCase(String a, String b) {
        if (a.length() != b.length()) {
            return false;
        }
        for (int i = 0; i < a.length(); i++) {
            char x = a.charAt(i);
            char y = b.charAt(i);
            if (x >= 'a' && x <= 'z') {
                x -= 32;
            }
            if (y >= 'a' && y <= 'z') {
                y -= 32;
            }
            if (x != y) {
                return false;
            }
        }
        return true;
    }

    /** The enabled mechanisms that need {@code need} of a passdb, in the order enabled. */
    public List<Mechanism> needing(Mechanism.Need need) {
        List<Mechanism> out = new ArrayList<>();
        for (Mechanism m : enabled) {
            if (m.needs() == need) {
                out.add(m);
            }
        }
        return out;
    }

    /** Whether any enabled mechanism asks the passdb. */
    public boolean anyNeedsPassdb() {
        for (Mechanism m : enabled) {
            if (m.needsPassdb()) {
                return true;
            }
        }
        return false;
    }

    public boolean contains(String name) {
        return find(name).isPresent();
    }

    @Override
    public String toString() {
        return names(enabled);
    }

    private static String names(List<Mechanism> list) {
        return String.join(",", list.stream().map(Mechanism::name).toList()).toUpperCase(Locale.ROOT);
    }
}
