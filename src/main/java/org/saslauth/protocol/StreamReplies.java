package org.saslauth.protocol;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/** Replies to an output stream, as spawn(8) hands the helper its stdout. */
final class StreamReplies implements ReplyChannel {

    private final OutputStream out;
    private boolean broken;

    StreamReplies(OutputStream out) {
        this.out = new BufferedOutputStream(out, 8192);
    }

    @Override
    public void write(byte[] line) {
        if (broken) {
            return;
        }
        try {
            out.write(line);
        } catch (IOException e) {
            broken = true;
        }
    }

    @Override
    public void flush() {
        if (broken) {
            return;
        }
        try {
            out.flush();
        } catch (IOException e) {
            broken = true;
        }
    }

    @Override
    public boolean isBroken() {
        return broken;
    }
}
