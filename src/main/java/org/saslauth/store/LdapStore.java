package org.saslauth.store;

import static org.saslauth.Log.LOG;

import com.unboundid.ldap.sdk.AsyncRequestID;
import com.unboundid.ldap.sdk.AsyncSearchResultListener;
import com.unboundid.ldap.sdk.Attribute;
import com.unboundid.ldap.sdk.DereferencePolicy;
import com.unboundid.ldap.sdk.ExtendedResult;
import com.unboundid.ldap.sdk.Filter;
import com.unboundid.ldap.sdk.LDAPConnection;
import com.unboundid.ldap.sdk.LDAPConnectionOptions;
import com.unboundid.ldap.sdk.LDAPException;
import com.unboundid.ldap.sdk.LDAPURL;
import com.unboundid.ldap.sdk.ResultCode;
import com.unboundid.ldap.sdk.SearchRequest;
import com.unboundid.ldap.sdk.SearchResult;
import com.unboundid.ldap.sdk.SearchResultEntry;
import com.unboundid.ldap.sdk.SearchResultReference;
import com.unboundid.ldap.sdk.SearchScope;
import com.unboundid.ldap.sdk.SimpleBindRequest;
import com.unboundid.ldap.sdk.controls.ManageDsaITRequestControl;
import com.unboundid.ldap.sdk.extensions.StartTLSExtendedRequest;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import org.saslauth.Deadline;
import org.saslauth.Log;
import org.saslauth.password.CostlyChecks;
import org.saslauth.password.PasswordHash;
import org.saslauth.password.ScramHash;
import org.saslauth.password.ScramShape;

/**
 * Users in an LDAP directory, like Dovecot's {@code passdb ldap}, through the UnboundID LDAP SDK.
 * The user's entry is found by a subtree search under the base with the user filter, the name
 * escaped as RFC 4515 requires; exactly one entry must match. Then either
 * <ul>
 *   <li>auth bind: a bind as that entry's DN with the password given (the directory checks it),
 *       on connections kept for that, or
 *   <li>the password attribute ({@code userPassword}) is read and checked like a passwd-file
 *       field: {@code {SSHA}}, {@code {CRYPT}$6$...} and every other scheme saslauth reads.
 * </ul>
 *
 * <p>Searches share a few connections (one in a spawned helper), each with any number of
 * searches in flight at once, as libldap's asynchronous requests do for Dovecot: the login's
 * thread sends its search and waits for the answer, which the connection's reader thread hands
 * it. A bind changes who the connection is, so the auth binds have connections of their own,
 * each lent to one login at a time. A connection that failed is dropped and the next login
 * opens a new one, trying the URLs in turn (failover). Connecting is bounded by
 * {@link #CONNECT_TIMEOUT} per server, every operation by {@link #READ_TIMEOUT}, a whole login
 * by {@link #LOOKUP_LIMIT}, and all of them by the request's deadline. A directory down, slow or
 * refusing makes a lookup {@link Verdict#UNAVAILABLE}.
 */
public final class LdapStore implements CredentialStore {

    static final Duration CONNECT_TIMEOUT = Duration.ofMillis(1500);
    static final Duration READ_TIMEOUT = Duration.ofSeconds(3);
    /** How long a login waits for the directory, search and bind together, when its deadline leaves more. */
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

    /** One URL of the failover list; {@code base} is the search base under the URL's DN, if it has one. */
    private record Server(String host, int port, boolean ldaps, String base) {}

    private final Config config;
    private final NameTemplate filter;
    private final List<Server> servers;
    /** Wraps TLS sockets ({@code ldaps://} and StartTLS), checking the server's name; null without TLS. */
    private final SSLSocketFactory tls;
    private final Searches searches;
    private final Binds binds;
    private final Outage outage = new Outage("LDAP directory");
    private final ScramTally scramTally;
    private volatile boolean closed;

    private LdapStore(Config config, NameTemplate filter, List<Server> servers, SSLSocketFactory tls,
            ScramTally scramTally) {
        this.scramTally = scramTally;
        this.config = config;
        this.filter = filter;
        this.servers = servers;
        this.tls = tls;
        this.searches = new Searches(Math.max(1, config.poolSize()));
        this.binds = new Binds(Math.max(1, config.poolSize()));
    }

    public static LdapStore open(Config c) throws InvalidStoreConfig {
        return open(c, ScramTally.PROCESS);
    }

    /** {@link #open(Config)}, counting SCRAM entries in {@code scramTally} rather than the process's. */
    static LdapStore open(Config c, ScramTally scramTally) throws InvalidStoreConfig {
        List<Server> servers = new ArrayList<>();
        boolean anyLdaps = false;
        for (String url : c.urls().trim().split("\\s+")) {
            String lower = url.toLowerCase(java.util.Locale.ROOT);
            if (!lower.startsWith("ldap://") && !lower.startsWith("ldaps://")) {
                throw new InvalidStoreConfig("ldap-url: '" + url + "' is not an ldap:// or ldaps:// URL");
            }
            if (c.startTls() && lower.startsWith("ldaps://")) {
                throw new InvalidStoreConfig("ldap-starttls is for ldap:// URLs; ldaps:// is TLS already: " + url);
            }
            servers.add(server(url, c.base()));
            anyLdaps |= lower.startsWith("ldaps://");
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
        if (c.startTls() || anyLdaps) {
            tls = new NameChecking(c.caFile() != null ? trusting(c.caFile())
                    : (SSLSocketFactory) SSLSocketFactory.getDefault());
        }
        LdapStore store = new LdapStore(c, filter, List.copyOf(servers), tls, scramTally);
        if (c.failFast()) {
            try {
                store.searches.openFirst(store, Deadline.NONE.atMost(LOOKUP_LIMIT));
            } catch (LDAPException e) {
                throw new InvalidStoreConfig("cannot connect to the LDAP directory: " + describe(e));
            }
        }
        return store;
    }

    /**
     * A URL's host and port ({@code 389}, {@code 636} by default). A DN in the URL is where the
     * base is found, as JNDI read it: the search base is {@code ldap-base} under it.
     */
    private static Server server(String url, String base) throws InvalidStoreConfig {
        LDAPURL parsed;
        try {
            parsed = new LDAPURL(url);
        } catch (LDAPException e) {
            throw new InvalidStoreConfig("ldap-url: '" + url + "' is not an LDAP URL: " + e.getExceptionMessage());
        }
        String under = parsed.baseDNProvided() ? parsed.getBaseDN().toString() : "";
        String full = under.isEmpty() ? base : base == null || base.isEmpty() ? under : base + "," + under;
        return new Server(parsed.getHost(), parsed.getPort(), parsed.getScheme().equalsIgnoreCase("ldaps"),
                full == null ? "" : full);
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
     * TLS sockets that check the server's certificate names its host (RFC 4513's rules, the
     * JDK's {@code LDAPS} endpoint identification), as JNDI did for {@code ldaps://} and StartTLS.
     */
    private static final class NameChecking extends SSLSocketFactory {
        private final SSLSocketFactory inner;

        NameChecking(SSLSocketFactory inner) {
            this.inner = inner;
        }

        private static Socket checking(Socket s) {
            if (s instanceof SSLSocket ssl) {
                SSLParameters p = ssl.getSSLParameters();
                p.setEndpointIdentificationAlgorithm("LDAPS");
                ssl.setSSLParameters(p);
            }
            return s;
        }

        @Override
        public String[] getDefaultCipherSuites() {
            return inner.getDefaultCipherSuites();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return inner.getSupportedCipherSuites();
        }

        @Override
        public Socket createSocket() throws IOException {
            return checking(inner.createSocket());
        }

        @Override
        public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
            return checking(inner.createSocket(s, host, port, autoClose));
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            return checking(inner.createSocket(host, port));
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress local, int localPort) throws IOException {
            return checking(inner.createSocket(host, port, local, localPort));
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            return checking(inner.createSocket(host, port));
        }

        @Override
        public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort) throws IOException {
            return checking(inner.createSocket(host, port, local, localPort));
        }
    }

    /** Milliseconds of {@code cap} that {@code by} leaves, at least 1; 0 once it has passed. */
    private static int millis(Deadline by, Duration cap) {
        long left = by.nanosLeft();
        if (left == 0) {
            return 0;
        }
        return (int) Math.max(1, Math.min(cap.toMillis(), TimeUnit.NANOSECONDS.toMillis(left)));
    }

    private static LDAPException late(String what) {
        return new LDAPException(ResultCode.TIMEOUT, "no time left to " + what);
    }

    /** A connection to a server that answers, and the search base there. */
    private record Opened(LDAPConnection connection, String base) {}

    /**
     * A new connection to the first server of the list that takes it: TLS as configured, then
     * bound as the bind DN ({@code search}) or anonymous. A bind DN the directory refuses is not
     * tried on the next server, as JNDI did not.
     */
    private Opened connect(boolean search, Deadline by) throws LDAPException {
        LDAPException last = null;
        for (Server s : servers) {
            int connectMillis = millis(by, CONNECT_TIMEOUT);
            if (connectMillis == 0) {
                throw last != null ? last : late("connect");
            }
            LDAPConnectionOptions o = new LDAPConnectionOptions();
            o.setUseSynchronousMode(false); // several requests in flight on one connection
            o.setConnectTimeoutMillis(connectMillis);
            o.setResponseTimeoutMillis(READ_TIMEOUT.toMillis());
            o.setAbandonOnTimeout(true);
            o.setFollowReferrals(false);
            o.setAutoReconnect(false);
            o.setUseTCPNoDelay(true);
            o.setUseKeepAlive(true);
            LDAPConnection c = s.ldaps() ? new LDAPConnection(tls, o) : new LDAPConnection(o);
            try {
                c.connect(s.host(), s.port(), connectMillis);
                if (config.startTls()) {
                    StartTLSExtendedRequest start = new StartTLSExtendedRequest(tls);
                    start.setResponseTimeoutMillis(millis(by, READ_TIMEOUT));
                    ExtendedResult r = c.processExtendedOperation(start);
                    if (!ResultCode.SUCCESS.equals(r.getResultCode())) {
                        throw new LDAPException(r);
                    }
                }
                if (search && config.bindDn() != null) {
                    int bindMillis = millis(by, READ_TIMEOUT);
                    if (bindMillis == 0) {
                        throw late("bind as ldap-bind-dn");
                    }
                    SimpleBindRequest bind = new SimpleBindRequest(config.bindDn(), config.bindPassword().clone());
                    bind.setResponseTimeoutMillis(bindMillis);
                    c.bind(bind);
                }
                return new Opened(c, s.base());
            } catch (LDAPException e) {
                c.close();
                if (ResultCode.INVALID_CREDENTIALS.equals(e.getResultCode())) {
                    throw e;
                }
                last = e;
            } catch (RuntimeException e) {
                c.close();
                throw new LDAPException(ResultCode.LOCAL_ERROR, Outage.describe(e), e);
            }
        }
        throw last;
    }

    /** The entry found for a user, or why there is none. */
    private sealed interface Entry {
        record Found(String dn, Optional<String> password) implements Entry {}

        record None() implements Entry {}

        record Failed() implements Entry {}
    }

    private Entry find(String user, Deadline by) {
        if (user.indexOf('\0') >= 0) {
            return new Entry.None(); // no directory holds such a name; slapd would refuse the filter
        }
        if (by.passed() || closed) {
            return new Entry.Failed(); // too late before the directory was asked, or closed: not its outage
        }
        String expr = filter.expand(user, LdapStore::escape);
        Filter f;
        try {
            f = Filter.create(expr);
        } catch (LDAPException e) {
            outage.failed("ldap-user-filter: " + describe(e));
            return new Entry.Failed();
        }
        String[] attributes = config.authBind() ? new String[] {"1.1"} : new String[] {config.passwordAttribute()};
        for (int attempt = 0; ; attempt++) {
            Searches.Lease lease;
            try {
                lease = searches.lease(this, by);
            } catch (LDAPException e) {
                outage.failed(describe(e));
                return new Entry.Failed();
            }
            Link link = lease.link();
            Answer answer = new Answer(link);
            // size limit 2: a second entry is a configuration error; references are left out
            // and referral objects returned as entries (ManageDsaIT), as JNDI's "ignore" did
            SearchRequest request = new SearchRequest(answer, link.base(), SearchScope.SUB, DereferencePolicy.ALWAYS,
                    2, (int) READ_TIMEOUT.toSeconds(), false, f, attributes);
            request.addControl(new ManageDsaITRequestControl(false));
            request.setResponseTimeoutMillis(0); // waited for below, until the deadline
            Deadline wait = by.atMost(READ_TIMEOUT);
            long sent = System.nanoTime();
            AsyncRequestID id;
            try {
                id = link.connection().asyncSearch(request);
            } catch (LDAPException e) {
                searches.drop(link);
                if (lease.reused() && attempt == 0 && !ResultCode.isConnectionUsable(e.getResultCode())) {
                    continue; // a connection the server closed meanwhile: one more try on a new one
                }
                outage.failed(describe(e));
                return new Entry.Failed();
            }
            boolean came;
            try {
                came = wait.await(nanos -> answer.done.await(nanos, TimeUnit.NANOSECONDS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                abandon(link, id);
                return new Entry.Failed();
            }
            if (!came) {
                abandon(link, id);
                if (link.answeredAt - sent < 0) {
                    searches.drop(link); // nothing came on it since: the connection, not the search, is stuck
                }
                outage.failed("no answer in time");
                return new Entry.Failed();
            }
            SearchResult result = answer.result;
            ResultCode code = result.getResultCode();
            if (!ResultCode.isConnectionUsable(code)) {
                searches.drop(link);
                if (lease.reused() && attempt == 0 && !ResultCode.TIMEOUT.equals(code)) {
                    continue;
                }
                outage.failed(describe(result));
                return new Entry.Failed();
            }
            if (answer.entries > 1 || (answer.entries == 1 && ResultCode.SIZE_LIMIT_EXCEEDED.equals(code))) {
                outage.answered();
                LOG.error("ldap-user-filter matches more than one entry for user {}: a configuration error,"
                        + " the login fails", Log.quote(user));
                return new Entry.Failed();
            }
            if (!ResultCode.SUCCESS.equals(code)) {
                outage.failed(describe(result));
                return new Entry.Failed();
            }
            outage.answered();
            if (answer.entries == 0) {
                return new Entry.None();
            }
            Optional<String> password = Optional.empty();
            if (!config.authBind()) {
                Attribute a = answer.first.getAttribute(config.passwordAttribute());
                byte[] v = a == null ? null : a.getValueByteArray();
                if (v != null) {
                    password = Optional.of(new String(v, StandardCharsets.UTF_8));
                }
            }
            return new Entry.Found(answer.first.getDN(), password);
        }
    }

    private static void abandon(Link link, AsyncRequestID id) {
        try {
            link.connection().abandon(id);
        } catch (LDAPException | RuntimeException ignored) {
            // the connection is gone: so is the search
        }
    }

    /** The answer to one search, handed over by the connection's reader thread. */
    private static final class Answer implements AsyncSearchResultListener {
        private static final long serialVersionUID = 1L;

        final transient CountDownLatch done = new CountDownLatch(1);
        private final transient Link link;
        /** Written by the reader thread before {@link #done} opens, read after. */
        transient int entries;
        transient SearchResultEntry first;
        transient volatile SearchResult result;

        Answer(Link link) {
            this.link = link;
        }

        @Override
        public void searchEntryReturned(SearchResultEntry entry) {
            if (entries++ == 0) {
                first = entry;
            }
        }

        @Override
        public void searchReferenceReturned(SearchResultReference reference) {
            // another server's part of the tree: not followed, as JNDI's "ignore" did not
        }

        @Override
        public void searchResultReceived(AsyncRequestID id, SearchResult r) {
            if (!ResultCode.isClientSideResultCode(r.getResultCode())) {
                link.answeredAt = System.nanoTime();
            }
            result = r;
            done.countDown();
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
        Deadline by = deadline.atMost(LOOKUP_LIMIT); // the search and the bind together
        Entry e = find(user, by);
        if (!(e instanceof Entry.Found found)) {
            if (e instanceof Entry.None) {
                scramTally.saw(user, Optional.empty());
                return Verdict.UNKNOWN_USER;
            }
            return Verdict.UNAVAILABLE;
        }
        if (config.authBind()) {
            return authBind(found.dn(), password, by);
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

    /**
     * The user's bind, on a bind connection of its own for the time of it, by the login's own
     * thread: a login that stopped waiting leaves no bind behind, and a bind whose turn comes
     * after the deadline never happens. The password's copy is wiped afterwards.
     */
    private Verdict authBind(String dn, byte[] password, Deadline by) {
        try {
            if (!binds.slots.tryAcquire(Math.min(by.nanosLeft(), CONNECT_TIMEOUT.toNanos()), TimeUnit.NANOSECONDS)) {
                outage.failed(by.passed() ? "no answer to the bind in time" : "every LDAP connection is busy");
                return Verdict.UNAVAILABLE;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Verdict.UNAVAILABLE;
        }
        byte[] copy = password.clone();
        try {
            for (int attempt = 0; ; attempt++) {
                LDAPConnection c = binds.idle.poll();
                boolean reused = c != null;
                if (c == null) {
                    try {
                        c = connect(false, by).connection();
                    } catch (LDAPException e) {
                        outage.failed(describe(e));
                        return Verdict.UNAVAILABLE;
                    }
                }
                int bindMillis = millis(by, READ_TIMEOUT);
                if (bindMillis == 0 || Thread.currentThread().isInterrupted()) {
                    binds.keep(c, this);
                    outage.failed("no answer to the bind in time");
                    return Verdict.UNAVAILABLE;
                }
                SimpleBindRequest bind = new SimpleBindRequest(dn, copy);
                bind.setResponseTimeoutMillis(bindMillis);
                try {
                    c.bind(bind);
                    binds.keep(c, this);
                    // answered after the deadline, the login has been answered already: never an OK
                    return by.passed() ? Verdict.UNAVAILABLE : Verdict.ACCEPTED;
                } catch (LDAPException e) {
                    if (ResultCode.INVALID_CREDENTIALS.equals(e.getResultCode())) {
                        binds.keep(c, this);
                        return Verdict.WRONG_PASSWORD;
                    }
                    c.close();
                    if (reused && attempt == 0 && ResultCode.SERVER_DOWN.equals(e.getResultCode())) {
                        continue; // a connection the server closed meanwhile: one more try on a new one
                    }
                    outage.failed(describe(e));
                    return Verdict.UNAVAILABLE;
                }
            }
        } finally {
            Arrays.fill(copy, (byte) 0);
            binds.slots.release();
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
        Entry e = find(user, deadline.atMost(LOOKUP_LIMIT));
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

    /** What went wrong: the result code, and the innermost cause when there is one. */
    private static String describe(LDAPException e) {
        return e.getCause() != null ? e.getResultCode().getName() + ", " + Outage.describe(e) : Outage.describe(e);
    }

    private static String describe(SearchResult r) {
        return Outage.describe(new LDAPException(r));
    }

    /**
     * Closes the connections: each search still in flight gets a temporary failure, and a bind
     * connection still lent to a login is closed when it comes back.
     */
    @Override
    public void close() {
        closed = true;
        searches.closeAll();
        binds.closeAll();
    }

    /** A search connection, and when an answer last came on it. */
    private static final class Link {
        private final LDAPConnection connection;
        private final String base;
        volatile long answeredAt = System.nanoTime();

        Link(Opened o) {
            this.connection = o.connection();
            this.base = o.base();
        }

        LDAPConnection connection() {
            return connection;
        }

        String base() {
            return base;
        }
    }

    /**
     * The search connections: {@code size} slots, each holding one connection or none, taken in
     * turn by the logins, many on one at once. An empty slot is filled by the login that meets it,
     * while the others go to a slot that is open.
     */
    private static final class Searches {
        record Lease(Link link, boolean reused) {}

        private final AtomicReferenceArray<Link> slots;
        private final ReentrantLock[] opening;
        private final AtomicInteger next = new AtomicInteger();
        private volatile boolean closed;

        Searches(int size) {
            this.slots = new AtomicReferenceArray<>(size);
            this.opening = new ReentrantLock[size];
            for (int i = 0; i < size; i++) {
                opening[i] = new ReentrantLock();
            }
        }

        void openFirst(LdapStore store, Deadline by) throws LDAPException {
            slots.set(0, new Link(store.connect(true, by)));
        }

        /** The slot's connection, if it is open; a closed one is let go. */
        private Link open(int i) {
            Link l = slots.get(i);
            if (l != null && !l.connection().isConnected()) {
                drop(l);
                return null;
            }
            return l;
        }

        Lease lease(LdapStore store, Deadline by) throws LDAPException {
            int n = slots.length();
            int start = Math.floorMod(next.getAndIncrement(), n);
            Link l = open(start);
            if (l != null) {
                return new Lease(l, true);
            }
            if (opening[start].tryLock()) {
                return fill(store, start, by);
            }
            for (int i = 1; i < n; i++) { // another login is opening it: any other open one
                l = open((start + i) % n);
                if (l != null) {
                    return new Lease(l, true);
                }
            }
            try {
                if (!opening[start].tryLock(Math.min(by.nanosLeft(), CONNECT_TIMEOUT.toNanos()), TimeUnit.NANOSECONDS)) {
                    throw new LDAPException(ResultCode.CONNECT_ERROR, "no LDAP connection opened in time");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LDAPException(ResultCode.LOCAL_ERROR, "interrupted");
            }
            return fill(store, start, by);
        }

        /** With {@code opening[i]} held: the slot's connection, opened now if need be. */
        private Lease fill(LdapStore store, int i, Deadline by) throws LDAPException {
            try {
                Link l = open(i);
                if (l != null) {
                    return new Lease(l, true);
                }
                l = new Link(store.connect(true, by));
                slots.set(i, l);
                if (closed && slots.compareAndSet(i, l, null)) { // closed meanwhile
                    l.connection().close();
                    throw new LDAPException(ResultCode.LOCAL_ERROR, "the LDAP store is closed");
                }
                return new Lease(l, false);
            } finally {
                opening[i].unlock();
            }
        }

        /** Lets go of a connection that failed; its other searches fail with it. */
        void drop(Link l) {
            for (int i = 0; i < slots.length(); i++) {
                slots.compareAndSet(i, l, null);
            }
            l.connection().close();
        }

        void closeAll() {
            closed = true;
            for (int i = 0; i < slots.length(); i++) {
                Link l = slots.getAndSet(i, null);
                if (l != null) {
                    l.connection().close();
                }
            }
        }
    }

    /** The auth bind connections, each lent to one login at a time; at most {@code size} exist. */
    private static final class Binds {
        private final BlockingQueue<LDAPConnection> idle;
        final Semaphore slots;
        private volatile boolean closed;

        Binds(int size) {
            this.idle = new ArrayBlockingQueue<>(size);
            this.slots = new Semaphore(size);
        }

        /** Takes back a connection that is still good. */
        void keep(LDAPConnection c, LdapStore store) {
            if (closed || store.closed || !idle.offer(c)) {
                c.close();
            } else if (closed && idle.remove(c)) { // closed between the check and the offer
                c.close();
            }
        }

        void closeAll() {
            closed = true;
            for (LDAPConnection c; (c = idle.poll()) != null; ) {
                c.close();
            }
        }
    }
}
