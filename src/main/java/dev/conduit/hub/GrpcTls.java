package dev.conduit.hub;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.apache.pekko.pki.pem.DERPrivateKeyLoader;
import org.apache.pekko.pki.pem.PEMDecoder;

/** The gRPC port's TLS context from PEM files: a certificate chain and an unencrypted private key. */
public final class GrpcTls {
  private GrpcTls() {}

  public static SSLContext serverContext(Path certificateChain, Path privateKey) {
    try {
      PrivateKey key = DERPrivateKeyLoader.load(PEMDecoder.decode(Files.readString(privateKey, StandardCharsets.US_ASCII)));
      Certificate[] chain = CertificateFactory.getInstance("X.509")
          .generateCertificates(new ByteArrayInputStream(Files.readAllBytes(certificateChain)))
          .toArray(Certificate[]::new);
      if (chain.length == 0) {
        throw new IllegalArgumentException("no certificate in " + certificateChain);
      }
      char[] noPassword = new char[0];
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry("conduit", key, noPassword, chain);
      KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keys.init(store, noPassword);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys.getKeyManagers(), null, new SecureRandom());
      return context;
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      throw new IllegalArgumentException("cannot load the gRPC TLS certificate " + certificateChain + " and key "
          + privateKey + ": " + e.getMessage(), e);
    }
  }
}
