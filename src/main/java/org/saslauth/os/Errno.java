package org.saslauth.os;

/** The {@code errno} values of Linux that saslauth tells apart, and names for messages. */
public final class Errno {

    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EAGAIN = 11;
    public static final int EACCES = 13;
    public static final int ENOTSOCK = 88;
    public static final int EPROTOTYPE = 91;
    public static final int ENOBUFS = 105;
    public static final int ENOTCONN = 107;
    public static final int ECONNREFUSED = 111;

    private Errno() {}

    /** {@code ECONNREFUSED (connection refused)} and so on; {@code errno 42} for others. */
    public static String describe(int errno) {
        switch (errno) {
            case ENOENT: return "ENOENT: no such file";
            case EINTR: return "EINTR: interrupted";
            case EAGAIN: return "EAGAIN: receiver busy";
            case EACCES: return "EACCES: permission denied";
            case ENOTSOCK: return "ENOTSOCK: not a socket";
            case EPROTOTYPE: return "EPROTOTYPE: not a datagram socket";
            case ENOBUFS: return "ENOBUFS: no buffer space";
            case ENOTCONN: return "ENOTCONN: not connected";
            case ECONNREFUSED: return "ECONNREFUSED: connection refused";
            default: return "errno " + errno;
        }
    }
}
