package dev.conduit.webhook;

import java.util.Locale;
import java.util.Optional;

/** A webhook's delivery status; wire names (API, the webhooks table's status column) are the lower-case constant names. */
public enum DeliveryStatus {
  RECEIVED, DISPATCHED, RETRYING, DELIVERED, FAILED, DEAD_LETTERED;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Optional<DeliveryStatus> fromWireName(String name) {
    for (DeliveryStatus s : values()) {
      if (s.wireName().equals(name)) {
        return Optional.of(s);
      }
    }
    return Optional.empty();
  }
}
