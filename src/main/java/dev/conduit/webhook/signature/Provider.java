package dev.conduit.webhook.signature;

import java.util.Arrays;
import java.util.Optional;

/** Signature scheme of a webhook endpoint, named as in endpoint configuration. */
public enum Provider {
    STRIPE("stripe"),
    GITHUB("github"),
    TELEGRAM("telegram"),
    GENERIC("generic"),
    STANDARD_WEBHOOKS("standard-webhooks");

    private final String wireName;

    Provider(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }

    public static Optional<Provider> fromWireName(String name) {
        return Arrays.stream(values()).filter(p -> p.wireName.equals(name)).findFirst();
    }
}
