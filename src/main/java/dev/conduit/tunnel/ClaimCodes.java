package dev.conduit.tunnel;

import java.security.SecureRandom;
import java.util.Locale;

/** Claim code format of the existing protocol: 8 characters from an alphabet without look-alikes. */
final class ClaimCodes {
  static final String ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  static final int LENGTH = 8;
  private static final SecureRandom RANDOM = new SecureRandom();

  private ClaimCodes() {}

  static String generate() {
    StringBuilder code = new StringBuilder(LENGTH);
    for (int i = 0; i < LENGTH; i++) {
      code.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
    }
    return code.toString();
  }

  /** What a user typed, as the code is stored: upper case, dashes and spaces removed. */
  static String normalize(String typed) {
    return typed.toUpperCase(Locale.ROOT).replace("-", "").replace(" ", "");
  }

  /** Only well-formed codes are looked up; anything else is simply invalid. */
  static boolean isWellFormed(String code) {
    return code.length() == LENGTH && code.chars().allMatch(c -> ALPHABET.indexOf(c) >= 0);
  }
}
