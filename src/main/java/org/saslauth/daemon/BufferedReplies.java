package org.saslauth.daemon;

import java.io.ByteArrayOutputStream;
import org.saslauth.protocol.ReplyChannel;

/**
 * An engine's replies, collected until it flushes and then queued on the connection as one
 * piece. The engine calls it with its connection's lock held, so calls never overlap.
 */
final class BufferedReplies implements ReplyChannel {

    private final Replies out;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream(256);
    private volatile boolean broken;

    BufferedReplies(Replies out) {
        this.out = out;
    }

    @Override
    public void write(byte[] line) {
        if (!broken) {
            pending.writeBytes(line);
        }
    }

    @Override
    public void flush() {
        if (pending.size() == 0) {
            return;
        }
        if (!out.send(pending.toByteArray())) {
            broken = true;
        }
        pending.reset();
    }

    @Override
    public boolean isBroken() {
        return broken;
    }
}
