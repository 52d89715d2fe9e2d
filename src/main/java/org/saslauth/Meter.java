package org.saslauth;

/**
 * What the daemon counts for {@code --metrics-listen}: the outcome of each AUTH, the time the
 * server took to answer its last step, the penalty, the passdb's errors and the cache. No
 * method takes a user name or a client address, so that none can reach a label.
 *
 * <p>Every method does nothing unless a meter was {@link #install installed}: a helper, and a
 * daemon without metrics, never load an implementation.
 */
public interface Meter {

    /** The final reply to an AUTH: {@code OK}, {@code FAIL}, or {@code FAIL ... code=temp_fail}. */
    enum Result {
        OK("ok"), FAIL("fail"), TEMP_FAIL("temp_fail");

        public final String label;

        Result(String label) {
            this.label = label;
        }
    }

    /** The final reply to an AUTH of {@code mechanism} (a mechanism served, or {@code unknown}). */
    default void replied(String mechanism, Result result) {}

    /** A step's answer was decided {@code nanos} after its request arrived (no failure delay in it). */
    default void answered(String mechanism, long nanos) {}

    /** A FAIL held back longer than the failure delay, by the penalty of its address. */
    default void penaltyDelayed() {}

    /** A passdb (database, directory, checkpassword program) did not answer a lookup. */
    default void passdbError() {}

    /** The cache answered a login without the passdb ({@code hit}), or had to ask it. */
    default void cache(boolean hit) {}

    /** Nothing is counted. */
    Meter NONE = new Meter() {};

    /** The meter in use: {@link #NONE} unless one was installed. */
    static Meter current() {
        return Installed.meter;
    }

    /** Counts from now on with {@code meter}: once per process, before serving. */
    static void install(Meter meter) {
        Installed.meter = meter;
    }

    /** The installed meter, apart: an interface's fields are constants. */
    final class Installed {
        static volatile Meter meter = NONE;

        private Installed() {}
    }
}
