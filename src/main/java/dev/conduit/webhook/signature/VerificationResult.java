package dev.conduit.webhook.signature;

import java.util.Objects;

/** A verdict plus a short reason for logs; reasons never contain secrets or signatures. */
public record VerificationResult(Verdict verdict, String reason) {

    public VerificationResult {
        Objects.requireNonNull(verdict, "verdict");
        Objects.requireNonNull(reason, "reason");
    }

    static VerificationResult verified() {
        return new VerificationResult(Verdict.VERIFIED, "signature verified");
    }

    static VerificationResult unsigned() {
        return new VerificationResult(Verdict.UNSIGNED, "endpoint has no secret");
    }

    static VerificationResult invalid(String reason) {
        return new VerificationResult(Verdict.INVALID, reason);
    }

    static VerificationResult missingHeader(String header) {
        return invalid("missing " + header + " header");
    }

    static VerificationResult malformedHeader(String header) {
        return invalid("malformed " + header + " header");
    }

    static VerificationResult mismatch() {
        return invalid("signature mismatch");
    }

    static VerificationResult outsideTolerance() {
        return invalid("timestamp outside tolerance");
    }

    public boolean isVerified() {
        return verdict == Verdict.VERIFIED;
    }
}
