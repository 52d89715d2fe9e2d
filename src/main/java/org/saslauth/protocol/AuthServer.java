package org.saslauth.protocol;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;

/**
 * Dovecot's auth client protocol on one pair of streams, as Postfix's spawn(8) hands a helper
 * its socket as stdin and stdout: reads lines and pushes them into one {@link AuthConnection}
 * until end of input.
 *
 * <pre>
 * S: VERSION 1 2 / MECH ... / SPID / CUID / COOKIE / DONE   (sent at once, MECH before SPID)
 * C: VERSION 1 0 / CPID pid
 * C: AUTH id MECH service=smtp ... [resp=base64]
 * S: CONT id base64 | OK id user=name | FAIL id [user=name] reason=text
 * C: CONT id base64
 * </pre>
 */
public final class AuthServer {

    /** Exit status of {@link #serve} when the client speaks another major version. */
    public static final int UNSUPPORTED_VERSION = 4;

    /** How long the end of input waits for replies still due, beyond the longest delay. */
    private static final Duration DRAIN = Duration.ofSeconds(10);

    private final AuthService service;
    private final Limits limits;

    public AuthServer(Settings settings) {
        this(AuthService.forOneConnection(settings), Limits.DEFAULT, true);
    }

    public AuthServer(AuthService service) {
        this(service, Limits.DEFAULT);
    }

    public AuthServer(AuthService service, Limits limits) {
        this(service, limits, false);
    }

    private AuthServer(AuthService service, Limits limits, boolean ownsService) {
        this.service = service;
        this.limits = limits;
        this.ownsService = ownsService;
    }

    /** Whether the service was made for this one connection, and is closed with it. */
    private final boolean ownsService;

    /**
     * Sends the handshake, then answers lines until end of input, then waits for the replies
     * still due (steps running, failures held back). Replies are flushed before every read, so
     * that no reply waits for the client's next line. Returns 0, or {@link #UNSUPPORTED_VERSION}.
     *
     * @throws IOException when reading the input fails (a closed output is not an error: the
     *     peer went away)
     */
    public int serve(InputStream in, OutputStream out) throws IOException {
        return serve(in, out, NOTHING);
    }

    private static final Runnable NOTHING = new Runnable() {
        @Override
        public void run() {}
    };

    /** {@link #serve(InputStream, OutputStream)}, running {@code afterHandshake} once the handshake is out. */
    public int serve(InputStream in, OutputStream out, Runnable afterHandshake) throws IOException {
        AuthConnection connection = service.connect(new StreamReplies(out));
        connection.start();
        connection.flush(); // the handshake first: nothing may delay smtpd's DONE
        service.warm();
        afterHandshake.run();
        LineFramer framer = new LineFramer(limits, connection::receive);
        byte[] buf = new byte[limits.readBuffer()];
        try {
            while (!framer.stopped()) {
                connection.flush();
                int n = in.read(buf);
                if (n < 0) {
                    framer.end();
                } else {
                    framer.push(buf, 0, n);
                }
            }
        } finally {
            connection.finish(Penalty.CAP.plus(DRAIN));
            if (ownsService) {
                service.close(); // the penalty store's last writes out, its connections let go
            }
        }
        return connection.status();
    }
}
