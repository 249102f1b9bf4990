package dev.conduit.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.conduit.testing.ChildServer;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestDestination;
import dev.conduit.testing.TestHub;
import dev.conduit.testing.TestServer;
import java.io.FileInputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.Test;

/**
 * The hub stream on its own port (CONDUIT_GRPC_PORT, the default): plain h2c, and HTTP/2 over TLS with a PEM
 * certificate; or, when asked for, on the HTTP port.
 */
class GrpcPortTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final String TOKEN = "t";

  private static Config overrides(int grpcPort, Map<String, Object> more) {
    Map<String, Object> base = new java.util.HashMap<>(Map.of(
        "conduit.hub.hubs", "home:s3cret", "conduit.hub.grpc-port", grpcPort,
        "conduit.webhook.admin-token", TOKEN));
    base.putAll(more);
    return ConfigFactory.parseMap(base);
  }

  @Test
  void h2cOnItsOwnPort() throws Exception {
    int grpcPort = ChildServer.freePort();
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, overrides(grpcPort, Map.of()));
         TestDestination destination = TestDestination.start();
         TestHub hub = TestHub.connect(grpcPort, "home", "s3cret")) {
      assertTrue(hub.awaitConnectResponse(TIMEOUT).getSuccess());
      deliverOne(server, destination);

      // With gRPC elsewhere the public port speaks HTTP/1.1 only: a sender that offers the h2c upgrade
      // (the JDK client's default) is answered over HTTP/1.1, large bodies included.
      EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
      String endpoint = api.createEndpoint("upgrade", destination.url("/u"), "home");
      HttpClient upgrading = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
      for (int i = 0; i < 5; i++) {
        HttpResponse<String> response = upgrading.send(HttpRequest.newBuilder(server.httpBase().resolve("/h/" + endpoint))
                .timeout(TIMEOUT).POST(HttpRequest.BodyPublishers.ofString("x".repeat(70_000))).build(),
            HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        assertEquals(HttpClient.Version.HTTP_1_1, response.version());
      }
    }
  }

  @Test
  void onTheHttpPortWhenConfigured() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, overrides(ChildServer.freePort(),
             Map.of("conduit.hub.grpc-on-http-port", true)));
         TestDestination destination = TestDestination.start()) {
      assertEquals(server.port(), server.grpcPort(), "grpc-port is ignored");
      try (TestHub hub = TestHub.connect(server.port(), "home", "s3cret")) {
        assertTrue(hub.awaitConnectResponse(TIMEOUT).getSuccess());
        deliverOne(server, destination);
      }
    }
  }

  @Test
  void tlsWhenACertificateIsConfigured() throws Exception {
    int grpcPort = ChildServer.freePort();
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2)) {
      Path dir = db.dataDir();
      KeyStore keyStore = selfSigned(dir);
      Certificate certificate = keyStore.getCertificate("edge");
      Key key = keyStore.getKey("edge", "changeit".toCharArray());
      Path certFile = dir.resolve("edge.crt");
      Path keyFile = dir.resolve("edge.key");
      Files.writeString(certFile, pem("CERTIFICATE", certificate.getEncoded()));
      Files.writeString(keyFile, pem("PRIVATE KEY", key.getEncoded()));
      TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      KeyStore trusted = KeyStore.getInstance("PKCS12");
      trusted.load(null, null);
      trusted.setCertificateEntry("edge", certificate);
      trust.init(trusted);
      X509TrustManager trustManager = (X509TrustManager) trust.getTrustManagers()[0];

      try (TestServer server = TestServer.start(db, overrides(grpcPort, Map.of(
               "conduit.hub.tls.certificate", certFile.toString(), "conduit.hub.tls.private-key", keyFile.toString())));
           TestDestination destination = TestDestination.start();
           TestHub hub = TestHub.connect(system -> GrpcClientSettings.connectToServiceAt("127.0.0.1", grpcPort, system)
               .withTls(true).withTrustManager(trustManager).withOverrideAuthority("localhost"), "home", "s3cret")) {
        assertTrue(hub.awaitConnectResponse(TIMEOUT).getSuccess());
        deliverOne(server, destination);
        // The same port does not speak plain h2c any more.
        try (TestHub plain = TestHub.connect(grpcPort, "home", "s3cret")) {
          assertTrue(plain.awaitEnd(TIMEOUT) != null, "plain h2c against the TLS port fails");
        }
      }
    }
  }

  private static void deliverOne(TestServer server, TestDestination destination) throws Exception {
    EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
    String endpoint = api.createEndpoint("e", destination.url("/e"), "home");
    String id = api.ingestOk(endpoint, "{\"over\":\"grpc port\"}");
    api.awaitStatus(id, "delivered", TIMEOUT);
    assertEquals("{\"over\":\"grpc port\"}", destination.requests("/e").get(0).bodyText());
  }

  private static KeyStore selfSigned(Path dir) throws Exception {
    Path store = dir.resolve("edge.p12");
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    Process process = new ProcessBuilder(keytool, "-genkeypair", "-alias", "edge", "-keyalg", "RSA", "-keysize", "2048",
        "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "2",
        "-keystore", store.toString(), "-storetype", "PKCS12", "-storepass", "changeit", "-keypass", "changeit")
        .redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes());
    assertTrue(process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0, output);
    KeyStore keyStore = KeyStore.getInstance("PKCS12");
    try (FileInputStream in = new FileInputStream(store.toFile())) {
      keyStore.load(in, "changeit".toCharArray());
    }
    return keyStore;
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }
}
