package dev.conduit.webhook.signature;

import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** JDK HMAC-SHA256, constant-time comparison and exception-free decoding. */
final class Crypto {

    private static final String HMAC_SHA256 = "HmacSHA256";
    private static final String SHA256 = "SHA-256";
    /** Output size of HMAC-SHA256; a presented signature of any other size is malformed. */
    private static final int HMAC_SHA256_BYTES = 32;

    private Crypto() {
    }

    /** HMAC-SHA256 over the concatenation of {@code parts}; {@code key} must not be empty. */
    static byte[] hmacSha256(byte[] key, byte[]... parts) {
        try {
            Mac mac = Mac.getInstance(HMAC_SHA256);
            mac.init(new SecretKeySpec(key, HMAC_SHA256));
            for (byte[] part : parts) {
                mac.update(part);
            }
            return mac.doFinal();
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            // Every Java platform is required to provide HmacSHA256.
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    /** Constant-time for equal lengths; a length difference is not secret for MAC outputs. */
    static boolean constantTimeEquals(byte[] expected, byte[] actual) {
        return MessageDigest.isEqual(expected, actual);
    }

    /** Compares SHA-256 digests so that neither the content nor the length of the secret leaks. */
    static boolean constantTimeEqualsSecret(byte[] secret, byte[] candidate) {
        try {
            MessageDigest sha = MessageDigest.getInstance(SHA256);
            byte[] secretDigest = sha.digest(secret);
            return MessageDigest.isEqual(secretDigest, sha.digest(candidate));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    /** Hex-encoded HMAC-SHA256 output, upper or lower case; empty when not hex or not 32 bytes. */
    static Optional<byte[]> decodeHexMac(String hex) {
        return decodeHex(hex).filter(mac -> mac.length == HMAC_SHA256_BYTES);
    }

    /** Base64-encoded HMAC-SHA256 output; empty when not base64 or not 32 bytes. */
    static Optional<byte[]> decodeBase64Mac(String base64) {
        return decodeBase64(base64).filter(mac -> mac.length == HMAC_SHA256_BYTES);
    }

    private static Optional<byte[]> decodeHex(String hex) {
        try {
            return Optional.of(HexFormat.of().parseHex(hex));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    static Optional<byte[]> decodeBase64(String base64) {
        try {
            return Optional.of(Base64.getDecoder().decode(base64));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
