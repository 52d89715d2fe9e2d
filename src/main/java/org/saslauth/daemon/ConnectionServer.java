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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Predicate;
import org.saslauth.protocol.LineFramer;
import org.saslauth.protocol.Limits;
import org.saslauth.protocol.Scheduler;

/**
 * The connection layer of the daemon: listening sockets (TCP or UNIX-domain), and every
 * connection on one selector thread, framed into lines by a {@link LineFramer} for a
 * {@link ConnectionHandler}. It knows nothing of the auth protocol. A thread per connection would
 * cost some 80 KiB each, and every smtpd process keeps its connection open and idle for its whole
 * life: the number of connections, not of logins, sets the memory, so connections cost a few
 * hundred bytes here until they speak.
 *
 * <p>Lifecycle as {@code com.sun.net.httpserver.HttpServer}'s: {@link #listen} the bound channels,
 * {@link #start()}, and {@link #stop(Duration)}, which stops accepting, ends the input of every
 * session, lets their handlers answer what is in flight and close, and closes what is left when
 * the drain time runs out.
 *
 * <p>Limits ({@link Limits}): lines of at most {@link Limits#maxLine()} bytes (a longer line
 * reaches the handler as its head, never buffered whole), at most {@code maxConnections}
 * connections (beyond that a new connection is closed at once, and logged), a handshake within
 * {@link Limits#handshakeTimeout()}, and at most {@link Limits#outputBudget()} bytes of replies
 * waiting for a client that does not read (the client is disconnected); while more than
 * {@link Limits#readPause()} wait, its input is not read. Every time (the handshake timeout, the
 * drain, the pace of refusal logs) is read from the {@link Scheduler} given, so that tests move it
 * by hand.
 */
public final class ConnectionServer {

    private static final long LOG_PAUSE_NANOS = 10_000_000_000L;

    private record Listening(String name, ServerSocketChannel channel, ConnectionHandler handler,
            Predicate<InetAddress> allowed, Runnable afterClose) {}

    private final int maxConnections;
    private final Limits limits;
    private final Scheduler clock;
    private final Selector selector;
    private final List<Listening> listeners = new ArrayList<>();
    /** Open connections; touched by the selector thread only. */
    private final Set<Connection> connections = new HashSet<>();
    /** Connections open now by listener name, for the metrics, which read them from their own thread. */
    private final Map<String, java.util.concurrent.atomic.AtomicInteger> openByListener =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final ByteBuffer readBuffer;
    private final Thread thread;
    private volatile boolean stopping;
    private volatile int open;
    /** Set by the stop on the selector thread: the last connection to close ends the loop. */
    private boolean draining;
    private boolean finished;
    private long numbers;
    private long lastAcceptErrorLog;
    private boolean acceptErrorLogged;
    private final Refusals tooMany;
    private final Refusals notAllowed = new Refusals("not in --allow-from");
    /** The connection whose input (or opening) the selector thread is handling now. */
    private Connection reading;
    /** Guards {@link #stopResult} and {@link #looping} between a stop and the selector thread's end. */
    private final Object stopLock = new Object();
    private CompletableFuture<Boolean> stopResult;
    private boolean looping;

    public ConnectionServer(int maxConnections, Limits limits, Scheduler clock) throws IOException {
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections must be at least 1");
        }
        this.maxConnections = maxConnections;
        this.limits = limits;
        this.clock = clock;
        this.readBuffer = ByteBuffer.allocate(limits.readBuffer());
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
        openByListener.putIfAbsent(name, new java.util.concurrent.atomic.AtomicInteger());
        channel.register(selector, SelectionKey.OP_ACCEPT, l);
        listeners.add(l);
    }

    public void start() {
        synchronized (stopLock) {
            looping = true;
        }
        thread.start();
    }

    /** Connections open now. */
    public int connectionCount() {
        return open;
    }

    /** Connections open now on each listener, by its name ({@code unix:PATH}, {@code tcp:HOST:PORT}). */
    public Map<String, Integer> connectionsByListener() {
        Map<String, Integer> counts = new java.util.TreeMap<>();
        openByListener.forEach((name, n) -> counts.put(name, n.get()));
        return counts;
    }

    /**
     * Stops accepting (closing the listening channels at once), ends the input of every
     * connection, and waits up to {@code drain} for their handlers to close them; closes what is
     * left then. Returns whether every connection finished within the drain time.
     */
    public boolean stop(Duration drain) {
        boolean clean = stopAsync(drain).join();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return clean;
    }

    /**
     * {@link #stop(Duration)} without waiting: the result completes with true when the last
     * connection closed, with false when {@code drain} ran out on the server's clock (and what was
     * left has been closed).
     */
    public CompletableFuture<Boolean> stopAsync(Duration drain) {
        CompletableFuture<Boolean> result;
        synchronized (stopLock) {
            if (stopResult != null) {
                return stopResult;
            }
            result = stopResult = new CompletableFuture<>();
            if (!looping) {
                result.complete(open == 0);
                return result;
            }
        }
        stopping = true;
        post(() -> {
            draining = true;
            for (Listening l : listeners) {
                closeListener(l);
            }
            for (Connection c : new ArrayList<>(connections)) {
                c.endInput(false);
            }
            drainedIfEmpty();
        });
        clock.schedule(() -> post(() -> finish(false)), drain.toNanos());
        return result;
    }

    /** Runs a task on the selector thread, soon. */
    private void post(Runnable task) {
        tasks.add(task);
        selector.wakeup();
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
        try {
            while (!finished) {
                selector.select(this::ready);
                Runnable task;
                while ((task = tasks.poll()) != null) {
                    task.run();
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
            synchronized (stopLock) {
                looping = false;
                if (stopResult != null) {
                    stopResult.complete(connections.isEmpty());
                }
            }
        }
    }

    /** The end of a stop: what is still open is closed, and the selector thread ends. */
    private void finish(boolean clean) {
        if (finished) {
            return;
        }
        finished = true;
        for (Connection c : new ArrayList<>(connections)) {
            c.abort("still open when the server stopped");
        }
        synchronized (stopLock) {
            stopResult.complete(clean);
        }
    }

    private void drainedIfEmpty() {
        if (draining && connections.isEmpty()) {
            finish(true);
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
                long now = clock.nanoTime();
                if (!acceptErrorLogged || now - lastAcceptErrorLog > LOG_PAUSE_NANOS) {
                    acceptErrorLogged = true;
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
        Connection c = new Connection(ch, peer);
        try {
            c.key = ch.register(selector, SelectionKey.OP_READ, c);
        } catch (IOException e) {
            closeQuietly(ch);
            return;
        }
        connections.add(c);
        open = connections.size();
        openByListener.get(l.name()).incrementAndGet();
        LOG.debug("connection {} opened", peer);
        // Weak: a connection that closed must not stay in memory, with its session, until then.
        java.lang.ref.WeakReference<Connection> later = new java.lang.ref.WeakReference<>(c);
        clock.schedule(() -> {
            Connection open = later.get();
            if (open != null) {
                post(open::handshakeDeadline);
            }
        }, limits.handshakeTimeout().toNanos());
        reading = c; // what the handler sends while it opens goes out in one write, after
        try {
            c.session = l.handler().open(c, peer);
        } catch (RuntimeException e) {
            LOG.error("handler of {} failed to open connection {}", l.name(), peer, e);
            c.release();
            return;
        } finally {
            reading = null;
        }
        c.flushOutput();
    }

    /**
     * Refused connections as the log tells them: the first at once, then at most one line every
     * 10 s with the count since, so that a client connecting in a loop cannot fill the disk.
     */
    private final class Refusals {
        private final String why;
        private long lastLog;
        private boolean logged;
        private int since;

        Refusals(String why) {
            this.why = why;
        }

        void refused(String listener, String address) {
            since++;
            long now = clock.nanoTime();
            if (!logged || now - lastLog > LOG_PAUSE_NANOS) {
                LOG.warn("refused {} connection(s) on {} (last from {}): {}", since, listener, address, why);
                logged = true;
                lastLog = now;
                since = 0;
            }
        }
    }

    /** Asks the selector thread to write a connection's queued output. */
    private void schedule(Connection c) {
        if (Thread.currentThread() == thread) {
            if (c != reading) { // else written once the whole read (or the opening) is handled
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
        post(c::flushOutput);
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // closed is closed
        }
    }

    /** Where a connection is in its life; changed on the selector thread only. */
    private enum State {
        /** Lines are read; the client has not finished its handshake, and is closed if it takes too long. */
        HANDSHAKE,
        /** Lines are read as they come. */
        SERVING,
        /**
         * No more input (the client's end of input, or the server stopping) and the handler told:
         * its replies still go out until it closes.
         */
        DRAINING,
        /** The socket is closed; the handler was told. */
        CLOSED;

        boolean reading() {
            return this == HANDSHAKE || this == SERVING;
        }
    }

    /** What may still be queued for the client; changed by any thread, under the connection's lock. */
    private enum Output {
        OPEN,
        /** The handler closed: what is queued is written, then the socket is closed. */
        CLOSE_WHEN_WRITTEN,
        /** Over the output budget: the client does not read and is disconnected. */
        OVERRUN,
        /** The socket is closed: anything sent is dropped. */
        GONE
    }

    /**
     * One client connection: its input (framer and {@link State}, selector thread) and its output
     * queue ({@link Output}, locked), which are independent: a handler may close while input
     * still comes, and a client that ended its input still reads its replies.
     */
    private final class Connection implements Replies {
        final SocketChannel channel;
        final Peer peer;
        final LineFramer framer;
        SelectionKey key;
        Session session;
        State state = State.HANDSHAKE;

        // guarded by this
        private final ArrayDeque<ByteBuffer> out = new ArrayDeque<>(4);
        private int queued;
        private Output output = Output.OPEN;
        /** A write is posted to the selector thread already. */
        boolean scheduled;

        Connection(SocketChannel channel, Peer peer) {
            this.channel = channel;
            this.peer = peer;
            this.framer = new LineFramer(limits, this::deliver);
        }

        // --- Replies, any thread ----------------------------------------------------------------

        @Override
        public boolean send(byte[] data) {
            boolean queuedIt;
            synchronized (this) {
                if (output != Output.OPEN) {
                    return false;
                }
                queuedIt = queued + data.length <= limits.outputBudget();
                if (queuedIt) {
                    out.add(ByteBuffer.wrap(data));
                    queued += data.length;
                } else {
                    output = Output.OVERRUN;
                }
            }
            schedule(this);
            return queuedIt;
        }

        @Override
        public void close() {
            synchronized (this) {
                if (output != Output.OPEN) {
                    return;
                }
                output = Output.CLOSE_WHEN_WRITTEN;
            }
            schedule(this);
        }

        @Override
        public void handshakeDone() {
            if (Thread.currentThread() == thread) {
                handshakeFinished();
            } else {
                post(this::handshakeFinished);
            }
        }

        // --- selector thread --------------------------------------------------------------------

        private void handshakeFinished() {
            if (state == State.HANDSHAKE) {
                state = State.SERVING;
            }
        }

        void handshakeDeadline() {
            if (state == State.HANDSHAKE) {
                abort("no handshake within " + limits.handshakeTimeout().toMillis() + " ms");
            }
        }

        void flushOutput() {
            ByteBuffer[] pending;
            Output o;
            synchronized (this) {
                scheduled = false;
                o = output;
                pending = o == Output.OPEN || o == Output.CLOSE_WHEN_WRITTEN ? out.toArray(new ByteBuffer[0]) : null;
            }
            if (o == Output.GONE || state == State.CLOSED) {
                return;
            }
            if (o == Output.OVERRUN) {
                abort("more than " + limits.outputBudget() + " bytes of replies unread: the client does not read");
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
            boolean closing;
            int waiting;
            synchronized (this) {
                while (!out.isEmpty() && !out.peekFirst().hasRemaining()) {
                    out.removeFirst();
                }
                queued -= (int) written;
                empty = out.isEmpty();
                closing = output != Output.OPEN;
                waiting = queued;
            }
            if (closing && empty) {
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
            if (state.reading() && !closing && waiting < limits.readPause()) {
                ops |= SelectionKey.OP_READ;
            }
            key.interestOps(ops);
        }

        void readInput() {
            if (!state.reading()) {
                return;
            }
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
                    framer.push(buf.array(), 0, n);
                }
            } finally {
                reading = null;
            }
            flushOutput(); // one write for the replies to a whole read; pauses reading if they pile up
        }

        /** One line to the handler; returns whether it wants more (it has not closed). */
        private boolean deliver(byte[] line, boolean overflow) {
            try {
                session.line(line, overflow);
            } catch (RuntimeException e) {
                LOG.error("handler failed on a line of connection {}", peer, e);
                abort(null);
            }
            synchronized (this) {
                return state.reading() && output == Output.OPEN;
            }
        }

        /**
         * No more input: the client closed its side ({@code eof}: a last line without LF is still
         * a line), or the server stops (a line the client has not finished is dropped).
         */
        void endInput(boolean eof) {
            if (!state.reading()) {
                return;
            }
            if (eof) {
                framer.end();
            } else {
                framer.stop();
            }
            if (state == State.CLOSED) {
                return; // the handler failed on the last line, and heard of the end then
            }
            state = State.DRAINING;
            if (key.isValid()) {
                key.interestOps(key.interestOps() & ~SelectionKey.OP_READ);
            }
            callClosed();
        }

        void callClosed() {
            if (session == null) {
                return; // the handler failed to open it
            }
            try {
                session.closed();
            } catch (RuntimeException e) {
                LOG.error("handler failed closing connection {}", peer, e);
            }
        }

        /** Closes at once, logging why (null: nothing worth a line). */
        void abort(String why) {
            if (state == State.CLOSED) {
                return;
            }
            if (why != null) {
                LOG.warn("closing connection {}: {}", peer, why);
            }
            release();
        }

        /** Closes the socket; the handler hears of it if it has not heard of the end yet. */
        void release() {
            if (state == State.CLOSED) {
                return;
            }
            boolean tell = state.reading();
            state = State.CLOSED;
            synchronized (this) {
                output = Output.GONE;
                out.clear();
                queued = 0;
            }
            framer.stop();
            key.cancel();
            try {
                channel.close();
            } catch (IOException e) {
                // closed anyway
            }
            LOG.debug("connection {} closed", peer);
            if (connections.remove(this)) {
                openByListener.get(peer.listener()).decrementAndGet();
            }
            open = connections.size();
            if (tell) {
                callClosed();
            }
            drainedIfEmpty();
        }
    }
}
