package org.saslauth.protocol;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One {@link RateLimit} per client ({@link ClientAddress}: an IPv4 address, an IPv6 prefix), shared by every connection of the process: in a
 * daemon, an address spread over many smtpd processes meets one limit. The least recently
 * seen addresses are forgotten beyond {@link #MAX_ADDRESSES}.
 */
final class AddressRates {

    static final int MAX_ADDRESSES = 4096;

    private final int perSecond;
    private final Map<String, RateLimit> byAddress = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, RateLimit> eldest) {
            return size() > MAX_ADDRESSES;
        }
    };

    AddressRates(int perSecond) {
        this.perSecond = perSecond;
    }

    /** Whether a request from {@code client}, a {@link ClientAddress} key, is allowed now. */
    synchronized boolean tryAcquire(String client, long now) {
        if (perSecond == 0) {
            return true;
        }
        RateLimit limit = byAddress.get(client);
        if (limit == null) {
            limit = new RateLimit(perSecond, now);
            byAddress.put(client, limit);
        }
        return limit.tryAcquire(now);
    }
}
