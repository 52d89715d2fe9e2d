package org.saslauth.store;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.saslauth.password.PasswordHash;
import org.saslauth.protocol.ClientAddress;
import org.saslauth.protocol.Networks;

/**
 * One app password of a user: a password of its own for one device or program, limited to some
 * networks and services and until an expiry, and revocable without touching the user's main
 * password. Only its hash is kept.
 *
 * @param user the user it logs in as, canonical
 * @param name what the user calls it ({@code phone}, {@code thunderbird}), for the log and the list
 * @param networks where it may be used from; empty for anywhere
 * @param services the services it may be used for, lower case ({@code smtp}, {@code imap});
 *     empty for any
 * @param expires when it stops working, if it does
 * @param created when it was made, if known
 * @param revoked when it was revoked, if it was
 */
public record AppPassword(String user, String name, PasswordHash hash, Optional<Networks> networks,
        List<String> services, Optional<Instant> expires, Optional<Instant> created, Optional<Instant> revoked) {

    /** The longest name, in characters. */
    public static final int MAX_NAME = 64;

    /** Whether {@code name} can name an app password: letters, digits, {@code . _ -} and {@code @}. */
    public static boolean validName(String name) {
        if (name.isEmpty() || name.length() > MAX_NAME) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_'
                    || c == '-' || c == '@')) {
                return false;
            }
        }
        return true;
    }

    /** Whether it works at {@code now}: neither revoked nor expired. */
    public boolean live(Instant now) {
        return revoked.isEmpty() && (expires.isEmpty() || now.isBefore(expires.get()));
    }

    /**
     * Why this app password, the right one, is refused for a login at {@code now} from
     * {@code address} ({@code rip}, empty when unknown) for {@code service} (empty when unknown),
     * or empty when it may log in. The reason names the app password, never its hash.
     */
    public Optional<String> refusal(Instant now, String address, String service) {
        String which = "app password '" + name + "'";
        if (revoked.isPresent()) {
            return Optional.of(which + " was revoked at " + revoked.get());
        }
        if (expires.isPresent() && !now.isBefore(expires.get())) {
            return Optional.of(which + " expired at " + expires.get());
        }
        if (networks.isPresent()) {
            byte[] a = address.isEmpty() ? null : ClientAddress.bytes(address);
            if (a == null) {
                return Optional.of(which + " is limited to " + networks.get() + " and the client's address is unknown");
            }
            if (!networks.get().contains(a)) {
                return Optional.of(which + " is not for this address (only " + networks.get() + ")");
            }
        }
        if (!services.isEmpty() && !services.contains(service.toLowerCase(Locale.ROOT))) {
            return Optional.of(which + " is not for " + (service.isEmpty() ? "an unnamed service" : "service " + service)
                    + " (only " + String.join(",", services) + ")");
        }
        return Optional.empty();
    }
}
