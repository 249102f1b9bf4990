package dev.conduit.hub.auth;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signature a hub sends in its {@code ConnectRequest}: lower-case hex of
 * HMAC-SHA256(key = secret as UTF-8, message = {@code hubId + ":" + timestampSeconds}).
 */
public final class HubSignature {

    private static final String HMAC_SHA256 = "HmacSHA256";

    private HubSignature() {
    }

    public static String sign(String hubId, long timestampSeconds, String secret) {
        return HexFormat.of().formatHex(mac(hubId, timestampSeconds, secret));
    }

    /** Raw MAC bytes; {@code secret} must not be empty. */
    static byte[] mac(String hubId, long timestampSeconds, String secret) {
        try {
            Mac mac = Mac.getInstance(HMAC_SHA256);
            mac.init(new SecretKeySpec(secret.getBytes(UTF_8), HMAC_SHA256));
            return mac.doFinal((hubId + ":" + timestampSeconds).getBytes(UTF_8));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            // Every Java platform is required to provide HmacSHA256.
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
