package org.saslauth.daemon;

import static org.saslauth.Log.LOG;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * The connection layer of the daemon: listening sockets (TCP or UNIX-domain), and every
 * connection on one selector thread, framed into lines for a {@link ConnectionHandler}. It knows
 * nothing of the auth protocol. A thread per connection would cost some 80 KiB each, and every
 * smtpd process keeps its connection open and idle for its whole life: the number of connections,
 * not of logins, sets the memory, so connections cost a few hundred bytes here until they speak.
 *
 * <p>Lifecycle as {@code com.sun.net.httpserver.HttpServer}'s: {@link #listen} the bound channels,
 * {@link #start()}, and {@link #stop(Duration)}, which stops accepting, ends the input of every
 * session, lets their handlers answer what is in flight and close, and closes what is left when
 * the drain time runs out.
 *
 * <p>Limits: lines of at most {@link #MAX_LINE} bytes (Dovecot's; a longer line reaches the
 * handler as its head, never buffered whole), at most {@code maxConnections} connections (beyond
 * that a new connection is closed at once, and logged), a handshake within
 * {@link #HANDSHAKE_TIMEOUT}, and at most {@link #MAX_QUEUED} bytes of replies waiting for a
 * client that does not read (the client is disconnected); while more than {@link #READ_PAUSE}
 * wait, its input is not read.
 */
public final class ConnectionServer {

    /** Dovecot's limit on an auth protocol line, without its LF. */
    public static final int MAX_LINE = 16384;
    /** How much of an overlong line its handler sees. */
    public static final int OVERFLOW_HEAD = 64;
    /** A connection that has not finished its handshake by then is closed. */
    public static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(30);
    /** Replies waiting for one client beyond which it is disconnected. */
    static final int MAX_QUEUED = 1 << 20;
    /** Replies waiting for one client beyond which its input is left unread until it catches up. */
    static final int READ_PAUSE = 64 * 1024;

    private record Listening(String name, ServerSocketChannel channel, ConnectionHandler handler,
            Predicate<InetAddress> allowed, Runnable afterClose) {}

    private final int maxConnections;
    private final long handshakeNanos;
    private final Selector selector;
    private final List<Listening> listeners = new ArrayList<>();
    /** Open connections; touched by the selector thread only. */
    private final Set<Connection> connections = new HashSet<>();
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final ByteBuffer readBuffer = ByteBuffer.allocate(MAX_LINE + 2);
    private final Thread thread;
    private final Object drained = new Object();
    private volatile boolean stopping;
    private volatile int open;
    private boolean finished;
    private long numbers;
    private long lastAcceptErrorLog;
    private final Refusals tooMany;
    private final Refusals notAllowed = new Refusals("not in --allow-from");
    /** The connection whose input the selector thread is handling now. */
    private Connection reading;

    public ConnectionServer(int maxConnections, Duration handshakeTimeout) throws IOException {
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections must be at least 1");
        }
        this.maxConnections = maxConnections;
        this.handshakeNanos = handshakeTimeout.toNanos();
        this.tooMany = new Refusals("--max-connections " + maxConnections + " reached");
        this.selector = Selector.open();
        this.thread = new Thread(this::run, "saslauth-connections");
    }

    /**
     * Serves a bound listening channel with {@code handler}. {@code allowed} is asked about the
     * address of every TCP client (UNIX-domain clients are always let in); {@code afterClose} runs
     * once the channel is closed at stop (to remove a socket file). Call before {@link #start()}.
     */
    public void listen(String name, ServerSocketChannel channel, ConnectionHandler handler,
            Predicate<InetAddress> allowed, Runnable afterClose) throws IOException {
        if (thread.isAlive()) {
            throw new IllegalStateException("already started");
        }
        channel.configureBlocking(false);
        Listening l = new Listening(name, channel, handler, allowed, afterClose);
        channel.register(selector, SelectionKey.OP_ACCEPT, l);
        listeners.add(l);
    }

    public void start() {
        thread.start();
    }

    /** Connections open now. */
    public int connectionCount() {
        return open;
    }

    /**
     * Stops accepting (closing the listening channels at once), ends the input of every
     * connection, and waits up to {@code drain} for their handlers to close them; closes what is
     * left then. Returns whether every connection finished within the drain time.
     */
    public boolean stop(Duration drain) {
        if (!thread.isAlive()) {
            return true;
        }
        stopping = true;
        onLoop(() -> {
            for (Listening l : listeners) {
                closeListener(l);
            }
            for (Connection c : new ArrayList<>(connections)) {
                c.endInput(false);
            }
        });
        long deadline = System.nanoTime() + drain.toNanos();
        boolean clean;
        synchronized (drained) {
            long left;
            while (open > 0 && (left = deadline - System.nanoTime()) > 0) {
                try {
                    drained.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            clean = open == 0;
        }
        onLoop(() -> {
            for (Connection c : new ArrayList<>(connections)) {
                c.abort("still open when the server stopped");
            }
            finished = true;
        });
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return clean;
    }

    /** Runs a task on the selector thread and waits for it. */
    private void onLoop(Runnable task) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        tasks.add(() -> {
            try {
                task.run();
            } finally {
                done.complete(null);
            }
        });
        selector.wakeup();
        try {
            done.get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.error("connection thread did not answer: {}", e.toString());
        }
    }

    private void closeListener(Listening l) {
        try {
            l.channel().close();
        } catch (IOException e) {
            LOG.warn("closing listener {} failed: {}", l.name(), e.toString());
        }
        try {
            l.afterClose().run();
        } catch (RuntimeException e) {
            LOG.warn("after closing listener {}: {}", l.name(), e.toString());
        }
    }

    // --- the selector thread --------------------------------------------------------------------

    private void run() {
        long nextCheck = System.nanoTime() + 1_000_000_000L;
        try {
            while (!finished) {
                selector.select(this::ready, 1000);
                Runnable task;
                while ((task = tasks.poll()) != null) {
                    task.run();
                }
                long now = System.nanoTime();
                if (now - nextCheck >= 0) {
                    nextCheck = now + 1_000_000_000L;
                    closeSlowHandshakes(now);
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.error("connection thread failed", e);
            for (Connection c : new ArrayList<>(connections)) {
                c.abort(null);
            }
            for (Listening l : listeners) {
                closeListener(l);
            }
        } finally {
            try {
                selector.close();
            } catch (IOException e) {
                // nothing left to serve
            }
        }
    }

    private void ready(SelectionKey key) {
        if (key.attachment() instanceof Listening l) {
            if (key.isValid() && key.isAcceptable()) {
                acceptAll(l);
            }
            return;
        }
        Connection c = (Connection) key.attachment();
        if (key.isValid() && key.isWritable()) {
            c.flushOutput();
        }
        if (key.isValid() && key.isReadable()) {
            c.readInput();
        }
    }

    private void acceptAll(Listening l) {
        while (!stopping) {
            SocketChannel ch;
            try {
                ch = l.channel().accept();
            } catch (IOException e) {
                long now = System.nanoTime();
                if (now - lastAcceptErrorLog > 10_000_000_000L) {
                    lastAcceptErrorLog = now;
                    LOG.error("accepting on {} failed: {}", l.name(), e.toString());
                }
                return; // out of file descriptors, say: try again on the next round
            }
            if (ch == null) {
                return;
            }
            accepted(l, ch);
        }
    }

    private void accepted(Listening l, SocketChannel ch) {
        String address = "local";
        try {
            SocketAddress remote = ch.getRemoteAddress();
            if (remote instanceof InetSocketAddress inet) {
                address = inet.getAddress().getHostAddress() + ":" + inet.getPort();
                if (!l.allowed().test(inet.getAddress())) {
                    notAllowed.refused(l.name(), inet.getAddress().getHostAddress());
                    closeQuietly(ch);
                    return;
                }
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            }
            if (connections.size() >= maxConnections) {
                tooMany.refused(l.name(), address);
                closeQuietly(ch);
                return;
            }
            ch.configureBlocking(false);
        } catch (IOException e) {
            closeQuietly(ch); // gone already
            return;
        }
        Peer peer = new Peer(l.name(), address, ++numbers);
        Connection c = new Connection(ch, peer, System.nanoTime() + handshakeNanos);
        try {
            c.key = ch.register(selector, SelectionKey.OP_READ, c);
        } catch (IOException e) {
            closeQuietly(ch);
            return;
        }
        connections.add(c);
        open = connections.size();
        LOG.debug("connection {} opened", peer);
        Session session;
        try {
            session = l.handler().open(c, peer);
        } catch (RuntimeException e) {
            LOG.error("handler of {} failed to open connection {}", l.name(), peer, e);
            c.release();
            return;
        }
        c.session = session;
        if (c.gone && !c.closedCalled) { // failed while the handler greeted it
            c.closedCalled = true;
            c.callClosed();
        }
    }

    /**
     * Refused connections as the log tells them: the first at once, then at most one line every
     * 10 s with the count since, so that a client connecting in a loop cannot fill the disk.
     */
    private static final class Refusals {
        private final String why;
        private long lastLog;
        private boolean logged;
        private int since;

        Refusals(String why) {
            this.why = why;
        }

        void refused(String listener, String address) {
            since++;
            long now = System.nanoTime();
            if (!logged || now - lastLog > 10_000_000_000L) {
                LOG.warn("refused {} connection(s) on {} (last from {}): {}", since, listener, address, why);
                logged = true;
                lastLog = now;
                since = 0;
            }
        }
    }

    private void closeSlowHandshakes(long now) {
        for (Connection c : new ArrayList<>(connections)) {
            if (!c.handshakeDone && !c.inputEnded && now - c.handshakeDeadline > 0) {
                c.abort("no handshake within " + handshakeNanos / 1_000_000 + " ms");
            }
        }
    }

    private void released(Connection c) {
        connections.remove(c);
        synchronized (drained) {
            open = connections.size();
            if (open == 0) {
                drained.notifyAll();
            }
        }
    }

    /** Asks the selector thread to write a connection's queued output. */
    private void schedule(Connection c) {
        if (Thread.currentThread() == thread) {
            if (c == reading) {
                c.writeAfterRead = true; // one write for the replies to a whole read
            } else {
                c.flushOutput();
            }
            return;
        }
        synchronized (c) {
            if (c.scheduled) {
                return;
            }
            c.scheduled = true;
        }
        tasks.add(c::flushOutput);
        selector.wakeup();
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // closed is closed
        }
    }

    /** One client connection: its framing state (selector thread) and its output queue (locked). */
    private final class Connection implements Replies {
        final SocketChannel channel;
        final Peer peer;
        final long handshakeDeadline;
        SelectionKey key;
        Session session;

        // selector thread only
        private byte[] partial;
        private int partialLen;
        private boolean skipping;
        private byte[] head;
        boolean inputEnded;
        boolean closedCalled;
        boolean writeAfterRead;
        volatile boolean handshakeDone;
        volatile boolean gone;

        // guarded by this
        private final ArrayDeque<ByteBuffer> out = new ArrayDeque<>(4);
        private int queued;
        private boolean closeRequested;
        private boolean overfull;
        boolean scheduled;

        Connection(SocketChannel channel, Peer peer, long handshakeDeadline) {
            this.channel = channel;
            this.peer = peer;
            this.handshakeDeadline = handshakeDeadline;
        }

        // --- Replies, any thread ----------------------------------------------------------------

        @Override
        public boolean send(byte[] data) {
            boolean queuedIt;
            synchronized (this) {
                if (gone || closeRequested || overfull) {
                    return false;
                }
                queuedIt = queued + data.length <= MAX_QUEUED;
                if (queuedIt) {
                    out.add(ByteBuffer.wrap(data));
                    queued += data.length;
                } else {
                    overfull = true;
                }
            }
            schedule(this);
            return queuedIt;
        }

        @Override
        public void close() {
            synchronized (this) {
                if (gone || closeRequested) {
                    return;
                }
                closeRequested = true;
            }
            schedule(this);
        }

        @Override
        public void handshakeDone() {
            handshakeDone = true;
        }

        // --- selector thread --------------------------------------------------------------------

        void flushOutput() {
            ByteBuffer[] pending;
            synchronized (this) {
                scheduled = false;
                if (gone) {
                    return;
                }
                if (overfull) {
                    pending = null;
                } else {
                    pending = out.toArray(new ByteBuffer[0]);
                }
            }
            if (pending == null) {
                abort("more than " + MAX_QUEUED + " bytes of replies unread: the client does not read");
                return;
            }
            long written = 0;
            if (pending.length > 0) {
                try {
                    written = channel.write(pending);
                } catch (IOException e) {
                    abort(null); // the client went away
                    return;
                }
            }
            boolean empty;
            boolean closeNow;
            int waiting;
            synchronized (this) {
                while (!out.isEmpty() && !out.peekFirst().hasRemaining()) {
                    out.removeFirst();
                }
                queued -= (int) written;
                empty = out.isEmpty();
                closeNow = empty && closeRequested;
                waiting = queued;
            }
            if (closeNow) {
                release();
                return;
            }
            if (!key.isValid()) {
                return;
            }
            int ops = 0;
            if (!empty) {
                ops |= SelectionKey.OP_WRITE;
            }
            if (!inputEnded && waiting < READ_PAUSE) {
                ops |= SelectionKey.OP_READ;
            }
            key.interestOps(ops);
        }

        void readInput() {
            ByteBuffer buf = readBuffer;
            buf.clear();
            int n;
            try {
                n = channel.read(buf);
            } catch (IOException e) {
                abort(null); // reset by the client
                return;
            }
            reading = this;
            try {
                if (n < 0) {
                    endInput(true);
                } else if (n > 0) {
                    frame(buf.array(), n);
                }
            } finally {
                reading = null;
            }
            if (writeAfterRead) {
                writeAfterRead = false;
                flushOutput();
            }
        }

        private void frame(byte[] b, int n) {
            int start = 0;
            for (int i = 0; i < n; i++) {
                if (b[i] == '\n') {
                    lineEnd(b, start, i);
                    start = i + 1;
                    if (inputEnded || gone) {
                        return;
                    }
                }
            }
            if (start < n) {
                accumulate(b, start, n);
            }
            if (!gone && key.isValid()) {
                synchronized (this) {
                    if (queued >= READ_PAUSE) {
                        key.interestOps(key.interestOps() & ~SelectionKey.OP_READ);
                    }
                }
            }
        }

        /** Bytes of a line whose LF has not come yet. */
        private void accumulate(byte[] b, int from, int to) {
            if (skipping) {
                return;
            }
            int len = to - from;
            if (partialLen + len > MAX_LINE + 1) { // +1: a CR before the LF
                startSkipping(b, from, to);
                return;
            }
            if (partial == null) {
                partial = new byte[Math.max(256, len)];
            } else if (partialLen + len > partial.length) {
                partial = Arrays.copyOf(partial, Math.min(MAX_LINE + 1, Math.max(partial.length * 2, partialLen + len)));
            }
            System.arraycopy(b, from, partial, partialLen, len);
            partialLen += len;
        }

        private void startSkipping(byte[] b, int from, int to) {
            byte[] h = new byte[OVERFLOW_HEAD];
            int keep = Math.min(OVERFLOW_HEAD, partialLen);
            if (keep > 0) {
                System.arraycopy(partial, 0, h, 0, keep);
            }
            int more = Math.min(OVERFLOW_HEAD - keep, to - from);
            System.arraycopy(b, from, h, keep, more);
            head = Arrays.copyOf(h, keep + more);
            skipping = true;
            partial = null;
            partialLen = 0;
        }

        private void lineEnd(byte[] b, int from, int lf) {
            if (!skipping && partialLen + (lf - from) > MAX_LINE + 1) {
                startSkipping(b, from, lf);
            }
            if (skipping) {
                byte[] h = head;
                skipping = false;
                head = null;
                deliver(h, true);
                return;
            }
            byte[] line;
            if (partialLen == 0) {
                line = Arrays.copyOfRange(b, from, lf);
            } else {
                line = Arrays.copyOf(partial, partialLen + lf - from);
                System.arraycopy(b, from, line, partialLen, lf - from);
                partialLen = 0;
                if (partial.length > 1024) {
                    partial = null;
                }
            }
            int len = line.length;
            if (len > 0 && line[len - 1] == '\r') {
                line = Arrays.copyOf(line, len - 1);
            }
            if (line.length > MAX_LINE) {
                deliver(Arrays.copyOf(line, OVERFLOW_HEAD), true);
            } else {
                deliver(line, false);
            }
        }

        private void deliver(byte[] line, boolean overflow) {
            try {
                session.line(line, overflow);
            } catch (RuntimeException e) {
                LOG.error("handler failed on a line of connection {}", peer, e);
                abort(null);
            }
        }

        /**
         * No more input: the client closed its side ({@code eof}: a last line without LF is still
         * a line), or the server stops (a line the client has not finished is dropped).
         */
        void endInput(boolean eof) {
            if (inputEnded || gone) {
                return;
            }
            inputEnded = true;
            if (key.isValid()) {
                key.interestOps(key.interestOps() & ~SelectionKey.OP_READ);
            }
            if (eof && (partialLen > 0 || skipping)) {
                lineEnd(new byte[0], 0, 0);
            }
            partial = null;
            if (!closedCalled && session != null) {
                closedCalled = true;
                callClosed();
            }
        }

        void callClosed() {
            try {
                session.closed();
            } catch (RuntimeException e) {
                LOG.error("handler failed closing connection {}", peer, e);
            }
        }

        /** Closes at once, logging why (null: nothing worth a line). */
        void abort(String why) {
            if (gone) {
                return;
            }
            if (why != null) {
                LOG.warn("closing connection {}: {}", peer, why);
            }
            release();
        }

        /** Closes the socket; the session hears of it if it has not heard of the end yet. */
        void release() {
            synchronized (this) {
                if (gone) {
                    return;
                }
                gone = true;
                out.clear();
                queued = 0;
            }
            key.cancel();
            try {
                channel.close();
            } catch (IOException e) {
                // closed anyway
            }
            released(this);
            LOG.debug("connection {} closed", peer);
            inputEnded = true;
            partial = null;
            if (!closedCalled && session != null) {
                closedCalled = true;
                callClosed();
            }
        }
    }
}
