package dev.conduit.webhook.signature;

/** Outcome of a signature check; the caller decides what an unverified webhook means. */
public enum Verdict {
    /** The signature matches the endpoint's secret. */
    VERIFIED,
    /** Missing or malformed header, wrong signature, or timestamp outside tolerance. */
    INVALID,
    /** The endpoint has no secret, so there is nothing to check. */
    UNSIGNED
}
