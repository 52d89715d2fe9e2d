package org.saslauth.store;

import static org.saslauth.Log.LOG;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import javax.naming.AuthenticationException;
import javax.naming.Context;
import javax.naming.NamingEnumeration;
import javax.naming.NamingException;
import javax.naming.SizeLimitExceededException;
import javax.naming.directory.Attribute;
import javax.naming.directory.SearchControls;
import javax.naming.directory.SearchResult;
import javax.naming.ldap.InitialLdapContext;
import javax.naming.ldap.LdapContext;
import javax.naming.ldap.StartTlsRequest;
import javax.naming.ldap.StartTlsResponse;
import javax.net.SocketFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import org.saslauth.Deadline;
import org.saslauth.password.CostlyChecks;
import org.saslauth.password.PasswordHash;
import org.saslauth.password.ScramHash;
import org.saslauth.password.ScramShape;
import org.saslauth.Log;

/**
 * Users in an LDAP directory, like Dovecot's {@code passdb ldap}, through the JDK's own LDAP
 * provider (JNDI). The user's entry is found by a subtree search under the base with the user
 * filter, the name escaped as RFC 4515 requires; exactly one entry must match. Then either
 * <ul>
 *   <li>auth bind: a bind as that entry's DN with the password given (the directory checks it),
 *       on connections kept for that, or
 *   <li>the password attribute ({@code userPassword}) is read and checked like a passwd-file
 *       field: {@code {SSHA}}, {@code {CRYPT}$6$...} and every other scheme saslauth reads.
 * </ul>
 *
 * <p>Several URLs are tried in turn (failover). Connections are kept in a small pool (one in a
 * spawned helper), each used by one login at a time; one that failed is dropped and the next
 * login opens a new one. Connecting is bounded by {@link #CONNECT_TIMEOUT} per server, every
 * operation by {@link #READ_TIMEOUT}. A directory down, slow or refusing makes a lookup
 * {@link Verdict#UNAVAILABLE}.
 */
public final class LdapStore implements CredentialStore {

    static final Duration CONNECT_TIMEOUT = Duration.ofMillis(1500);
    static final Duration READ_TIMEOUT = Duration.ofSeconds(3);
    /**
     * How long a login waits for the directory, whatever the provider does, when its deadline
     * leaves more.
     */
    static final Duration LOOKUP_LIMIT = Duration.ofMillis(4500);

    /**
     * @param urls one or more {@code ldap://} or {@code ldaps://} URLs, separated by spaces
     * @param bindPassword the bind DN's password, or null; never logged
     */
    public record Config(String urls, boolean startTls, Path caFile, String bindDn, byte[] bindPassword,
            String base, String userFilter, boolean authBind, String passwordAttribute, String defaultScheme,
            int poolSize, boolean failFast) {
        @Override
        public String toString() { // never the password
            return "LdapStore.Config[urls=" + urls + ", base=" + base + ", bindDn=" + bindDn + "]";
        }
    }

    private final Config config;
    private final NameTemplate filter;
    private final SSLSocketFactory tls;
    private final Pool searches;
    private final Pool binds;
    private final Outage outage = new Outage("LDAP directory");
    private final Bounded lookups;
    private final ScramTally scramTally;

    private LdapStore(Config config, NameTemplate filter, SSLSocketFactory tls, ScramTally scramTally) {
        this.scramTally = scramTally;
        this.lookups = new Bounded("saslauth-ldap", Math.max(1, config.poolSize()) + 2, LOOKUP_LIMIT);
        this.config = config;
        this.filter = filter;
        this.tls = tls;
        this.searches = new Pool(config.poolSize(), true);
        this.binds = new Pool(config.poolSize(), false);
    }

    public static LdapStore open(Config c) throws InvalidStoreConfig {
        return open(c, ScramTally.PROCESS);
    }

    /** {@link #open(Config)}, counting SCRAM entries in {@code scramTally} rather than the process's. */
    static LdapStore open(Config c, ScramTally scramTally) throws InvalidStoreConfig {
        String[] urls = c.urls().trim().split("\\s+");
        for (String url : urls) {
            String lower = url.toLowerCase(java.util.Locale.ROOT);
            if (!lower.startsWith("ldap://") && !lower.startsWith("ldaps://")) {
                throw new InvalidStoreConfig("ldap-url: '" + url + "' is not an ldap:// or ldaps:// URL");
            }
            if (c.startTls() && lower.startsWith("ldaps://")) {
                throw new InvalidStoreConfig("ldap-starttls is for ldap:// URLs; ldaps:// is TLS already: " + url);
            }
        }
        NameTemplate filter;
        try {
            filter = NameTemplate.parse(c.userFilter(), false);
        } catch (IllegalArgumentException e) {
            throw new InvalidStoreConfig("ldap-user-filter: " + e.getMessage());
        }
        if (!c.userFilter().startsWith("(") || !c.userFilter().endsWith(")")) {
            throw new InvalidStoreConfig("ldap-user-filter must be an LDAP filter in parentheses, such as"
                    + " (&(objectClass=inetOrgPerson)(mail=%u))");
        }
        if (!c.authBind()) {
            StoredPassword.checkScheme(c.defaultScheme());
        }
        SSLSocketFactory tls = null;
        if (c.caFile() != null) {
            tls = trusting(c.caFile());
            CaSockets.factory = tls;
        }
        JulLoggers.off("com.sun.jndi.ldap");
        LdapStore store = new LdapStore(c, filter, tls, scramTally);
        if (c.failFast()) {
            try {
                store.searches.keep(store.connect(true));
            } catch (NamingException | IOException e) {
                throw new InvalidStoreConfig("cannot connect to the LDAP directory: " + describe(e));
            }
        }
        return store;
    }

    /** An SSL socket factory that trusts the certificates of a PEM file, and no others. */
    private static SSLSocketFactory trusting(Path caFile) throws InvalidStoreConfig {
        try (InputStream in = Files.newInputStream(caFile)) {
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            int i = 0;
            for (Certificate cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                trust.setCertificateEntry("ca" + i++, cert);
            }
            if (i == 0) {
                throw new InvalidStoreConfig("ldap-ca-file " + caFile + " holds no certificate");
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx.getSocketFactory();
        } catch (IOException | GeneralSecurityException e) {
            throw new InvalidStoreConfig("ldap-ca-file " + caFile + ": " + Outage.describe(e));
        }
    }

    /**
     * The socket factory JNDI uses for {@code ldaps://} when a CA file is given: JNDI takes a
     * class name and calls its static {@code getDefault()}.
     */
    public static final class CaSockets extends SocketFactory {
        static volatile SSLSocketFactory factory;

        public static SocketFactory getDefault() {
            return new CaSockets();
        }

        @Override
        public Socket createSocket() throws IOException {
            return factory.createSocket();
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            return factory.createSocket(host, port);
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress local, int localPort) throws IOException {
            return factory.createSocket(host, port, local, localPort);
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            return factory.createSocket(host, port);
        }

        @Override
        public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort)
                throws IOException {
            return factory.createSocket(host, port, local, localPort);
        }
    }

    /** A new connection: TLS as configured, then bound as the bind DN ({@code search}) or anonymous. */
    private LdapContext connect(boolean search) throws NamingException, IOException {
        Hashtable<String, Object> env = new Hashtable<>();
        env.put(Context.INITIAL_CONTEXT_FACTORY, "com.sun.jndi.ldap.LdapCtxFactory");
        env.put(Context.PROVIDER_URL, config.urls().trim());
        env.put("com.sun.jndi.ldap.connect.timeout", Long.toString(CONNECT_TIMEOUT.toMillis()));
        env.put("com.sun.jndi.ldap.read.timeout", Long.toString(READ_TIMEOUT.toMillis()));
        env.put("java.naming.ldap.version", "3");
        env.put(Context.REFERRAL, "ignore");
        env.put("java.naming.ldap.attributes.binary", config.passwordAttribute());
        if (tls != null && !config.startTls()) {
            env.put("java.naming.ldap.factory.socket", CaSockets.class.getName());
        }
        boolean bindNow = search && config.bindDn() != null && !config.startTls();
        env.put(Context.SECURITY_AUTHENTICATION, bindNow ? "simple" : "none");
        if (bindNow) {
            env.put(Context.SECURITY_PRINCIPAL, config.bindDn());
            env.put(Context.SECURITY_CREDENTIALS, config.bindPassword().clone());
        }
        LdapContext ctx = new InitialLdapContext(env, null);
        try {
            if (config.startTls()) {
                StartTlsResponse started = (StartTlsResponse) ctx.extendedOperation(new StartTlsRequest());
                if (tls != null) {
                    started.negotiate(tls);
                } else {
                    started.negotiate();
                }
                if (search && config.bindDn() != null) {
                    // kept in the environment, or the next search would bind again without it
                    ctx.addToEnvironment(Context.SECURITY_AUTHENTICATION, "simple");
                    ctx.addToEnvironment(Context.SECURITY_PRINCIPAL, config.bindDn());
                    ctx.addToEnvironment(Context.SECURITY_CREDENTIALS, config.bindPassword().clone());
                    ctx.reconnect(null);
                }
            }
            return ctx;
        } catch (NamingException | IOException | RuntimeException e) {
            close(ctx);
            throw e;
        }
    }

    /**
     * A user's bind on an open connection (over its TLS, if any). The password leaves the
     * environment afterwards; the connection's next use is the next user's bind.
     */
    private static void bind(LdapContext ctx, String dn, byte[] password) throws NamingException {
        byte[] copy = password.clone();
        try {
            ctx.addToEnvironment(Context.SECURITY_AUTHENTICATION, "simple");
            ctx.addToEnvironment(Context.SECURITY_PRINCIPAL, dn);
            ctx.addToEnvironment(Context.SECURITY_CREDENTIALS, copy);
            ctx.reconnect(null);
        } finally {
            ctx.removeFromEnvironment(Context.SECURITY_CREDENTIALS);
            Arrays.fill(copy, (byte) 0);
        }
    }

    /** The entry found for a user, or why there is none. */
    private sealed interface Entry {
        record Found(String dn, Optional<String> password) implements Entry {}

        record None() implements Entry {}

        record Failed() implements Entry {}
    }

    private Entry find(String user, Deadline deadline) {
        if (user.indexOf('\0') >= 0) {
            return new Entry.None(); // no directory holds such a name; slapd would refuse the filter
        }
        if (deadline.passed()) {
            return new Entry.Failed(); // too late before the directory was asked: not its outage
        }
        return lookups.call(() -> findNow(user), deadline).orElseGet(() -> {
            outage.failed("no answer in time");
            return new Entry.Failed();
        });
    }

    private Entry findNow(String user) {
        String expr = filter.expand(user, LdapStore::escape);
        SearchControls sc = new SearchControls();
        sc.setSearchScope(SearchControls.SUBTREE_SCOPE);
        sc.setCountLimit(2);
        sc.setTimeLimit((int) READ_TIMEOUT.toMillis());
        sc.setReturningAttributes(config.authBind() ? new String[] {"1.1"} : new String[] {config.passwordAttribute()});
        for (int attempt = 0; ; attempt++) {
            Pool.Lease lease;
            try {
                lease = searches.take(this);
            } catch (NamingException | IOException e) {
                outage.failed(describe(e));
                return new Entry.Failed();
            }
            try {
                Entry found = search(lease.ctx(), expr, sc, user);
                searches.give(lease.ctx());
                outage.answered();
                return found;
            } catch (javax.naming.CommunicationException | javax.naming.ServiceUnavailableException e) {
                searches.drop(lease.ctx());
                if (lease.reused() && attempt == 0) {
                    continue; // a connection the server closed meanwhile: one more try on a new one
                }
                outage.failed(describe(e));
                return new Entry.Failed();
            } catch (NamingException | RuntimeException e) {
                searches.drop(lease.ctx());
                outage.failed(describe(e));
                return new Entry.Failed();
            }
        }
    }

    private Entry search(LdapContext ctx, String expr, SearchControls sc, String user) throws NamingException {
        NamingEnumeration<SearchResult> results = ctx.search(config.base(), expr, sc);
        try {
            if (!results.hasMore()) {
                return new Entry.None();
            }
            SearchResult first = results.next();
            boolean more;
            try {
                more = results.hasMore();
            } catch (SizeLimitExceededException e) {
                more = true;
            }
            if (more) {
                LOG.error("ldap-user-filter matches more than one entry for user {}: a configuration error,"
                        + " the login fails", Log.quote(user));
                return new Entry.Failed();
            }
            Optional<String> password = Optional.empty();
            if (!config.authBind()) {
                Attribute a = first.getAttributes().get(config.passwordAttribute());
                Object v = a == null || a.size() == 0 ? null : a.get();
                if (v instanceof byte[] b) {
                    password = Optional.of(new String(b, StandardCharsets.UTF_8));
                } else if (v != null) {
                    password = Optional.of(v.toString());
                }
            }
            return new Entry.Found(first.getNameInNamespace(), password);
        } finally {
            results.close();
        }
    }

    /** RFC 4515: the characters that would change a filter, as {@code \XX}. */
    static String escape(String value) {
        StringBuilder out = new StringBuilder(value.length() + 8);
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\5c");
                case '*' -> out.append("\\2a");
                case '(' -> out.append("\\28");
                case ')' -> out.append("\\29");
                case '\0' -> out.append("\\00");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    @Override
    public Verdict verify(String user, byte[] password, CostlyChecks slots, Deadline deadline) {
        if (password.length == 0) {
            return Verdict.WRONG_PASSWORD; // an empty password would be an anonymous bind
        }
        Entry e = find(user, deadline);
        if (!(e instanceof Entry.Found found)) {
            if (e instanceof Entry.None) {
                scramTally.saw(user, Optional.empty());
                return Verdict.UNKNOWN_USER;
            }
            return Verdict.UNAVAILABLE;
        }
        if (config.authBind()) {
            // The task owns its copy of the password and wipes it itself: a login that stopped
            // waiting must not leave a task behind that binds with a wiped (all-zero) password,
            // which the directory would count as a failed bind of that user (a lockout risk).
            // The search and the bind share the request's deadline; a bind whose turn comes after
            // it is skipped, so that a late bind never happens at all.
            byte[] copy = password.clone();
            return lookups.call(() -> {
                try {
                    if (Thread.currentThread().isInterrupted()) {
                        return Verdict.UNAVAILABLE; // its login has stopped waiting: no bind at all
                    }
                    return authBind(found.dn(), copy);
                } finally {
                    Arrays.fill(copy, (byte) 0);
                }
            }, deadline).orElseGet(() -> {
                outage.failed("no answer to the bind in time");
                return Verdict.UNAVAILABLE;
            });
        }
        Optional<PasswordHash> hash = parse(found.password(), user);
        if (hash.isEmpty()) {
            return found.password().isEmpty() ? Verdict.WRONG_PASSWORD : Verdict.UNAVAILABLE;
        }
        return switch (slots.check(hash.get(), password, deadline)) {
            case MATCHED -> Verdict.ACCEPTED;
            case NOT_MATCHED -> Verdict.WRONG_PASSWORD;
            case TOO_BUSY -> Verdict.OVERLOADED;
        };
    }

    private Verdict authBind(String dn, byte[] password) {
        for (int attempt = 0; ; attempt++) {
            Pool.Lease lease;
            try {
                lease = binds.take(this);
            } catch (NamingException | IOException e) {
                outage.failed(describe(e));
                return Verdict.UNAVAILABLE;
            }
            try {
                bind(lease.ctx(), dn, password);
                binds.give(lease.ctx());
                return Verdict.ACCEPTED;
            } catch (AuthenticationException e) { // invalidCredentials (49)
                binds.give(lease.ctx());
                return Verdict.WRONG_PASSWORD;
            } catch (javax.naming.CommunicationException | javax.naming.ServiceUnavailableException e) {
                binds.drop(lease.ctx());
                if (lease.reused() && attempt == 0) {
                    continue;
                }
                outage.failed(describe(e));
                return Verdict.UNAVAILABLE;
            } catch (NamingException | RuntimeException e) {
                binds.drop(lease.ctx());
                outage.failed(describe(e));
                return Verdict.UNAVAILABLE;
            }
        }
    }

    /** The stored password, or empty (logged); a SCRAM entry is counted in the {@link ScramTally}. */
    private Optional<PasswordHash> parse(Optional<String> stored, String user) {
        Optional<PasswordHash> hash = StoredPassword.read(stored.orElse(null), user, config.defaultScheme(),
                config.passwordAttribute(), "directory");
        scramTally.saw(user, hash);
        return hash;
    }

    /** The stored password, with the password attribute; with auth bind the directory keeps it. */
    @Override
    public Lookup lookup(String user, Deadline deadline) {
        if (config.authBind()) {
            return new Lookup.Unsupported();
        }
        Entry e = find(user, deadline);
        if (e instanceof Entry.Found found) {
            return parse(found.password(), user).<Lookup>map(Lookup.Found::new).orElseGet(Lookup.Unavailable::new);
        }
        if (e instanceof Entry.None) {
            scramTally.saw(user, Optional.empty());
            return new Lookup.UnknownUser();
        }
        return new Lookup.Unavailable();
    }

    /**
     * The most common SCRAM entry among those read so far ({@link ScramTally}, the process's):
     * a directory cannot be listed. With auth bind none is read: every user gets the default.
     */
    @Override
    public ScramShape scramShape(ScramHash hash) {
        return scramTally.mostCommon(hash);
    }

    private static String describe(Exception e) {
        if (e instanceof NamingException ne && ne.getRootCause() != null) {
            return ne.getClass().getSimpleName() + ": " + Outage.describe(ne.getRootCause());
        }
        return Outage.describe(e);
    }

    /**
     * Stops the lookup workers and closes the idle connections; one still lent to a login is
     * closed when it comes back.
     */
    @Override
    public void close() {
        lookups.shutdown();
        searches.closeAll();
        binds.closeAll();
    }

    private static void close(LdapContext ctx) {
        try {
            ctx.close();
        } catch (NamingException | RuntimeException ignored) {
            // already gone
        }
    }

    /** Connections, each lent to one login at a time; at most {@code size} exist. */
    private static final class Pool {
        record Lease(LdapContext ctx, boolean reused) {}

        private final BlockingQueue<LdapContext> idle;
        private final Semaphore slots;
        private final boolean search;
        private volatile boolean closed;

        Pool(int size, boolean search) {
            this.idle = new ArrayBlockingQueue<>(Math.max(1, size));
            this.slots = new Semaphore(Math.max(1, size));
            this.search = search;
        }

        Lease take(LdapStore store) throws NamingException, IOException {
            try {
                if (!slots.tryAcquire(CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    throw new javax.naming.ServiceUnavailableException("every LDAP connection is busy");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new javax.naming.ServiceUnavailableException("interrupted");
            }
            LdapContext ctx = idle.poll();
            if (ctx != null) {
                return new Lease(ctx, true);
            }
            try {
                return new Lease(store.connect(search), false);
            } catch (NamingException | IOException | RuntimeException e) {
                slots.release();
                throw e;
            }
        }

        /** Returns a lent connection that is still good. */
        void give(LdapContext ctx) {
            keep(ctx);
            slots.release();
        }

        /** Keeps a connection that was not lent: the one opened at start. */
        void keep(LdapContext ctx) {
            if (closed || !idle.offer(ctx)) {
                close(ctx);
            } else if (closed && idle.remove(ctx)) { // the pool was closed between the check and the offer
                close(ctx);
            }
        }

        /** Closes the idle connections, and from now on each one given back. */
        void closeAll() {
            closed = true;
            for (LdapContext ctx; (ctx = idle.poll()) != null; ) {
                LdapStore.close(ctx);
            }
        }

        void drop(LdapContext ctx) {
            close(ctx);
            slots.release();
        }
    }
}
