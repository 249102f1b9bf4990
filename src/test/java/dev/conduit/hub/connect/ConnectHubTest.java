package dev.conduit.hub.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.connectrpc.Code;
import com.connectrpc.ConnectException;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.conduit.hub.auth.HubSignature;
import dev.conduit.hub.grpc.StreamResponse;
import dev.conduit.hub.grpc.WebhookEnvelope;
import dev.conduit.testing.ChildServer;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestDestination;
import dev.conduit.testing.TestHub;
import dev.conduit.testing.TestServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;
import org.junit.jupiter.api.Test;

/**
 * Hubs that speak the Connect protocol (connect-go's wire format, as the hookly hub does) attach like gRPC
 * hubs: connect-kotlin on OkHttp over h2c and over TLS, connect+proto and connect+json (gzip both ways),
 * HMAC connect, webhooks in order, ACKs, heartbeats both ways, eviction of a silent hub, reconnecting,
 * refusals with their codes, Connect-Timeout-Ms, and a Connect hub and a gRPC hub taking turns.
 */
class ConnectHubTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final String HUB = "home";
  private static final String SECRET = "s3cret";
  private static final String TOKEN = "t";
  /** Each connect gets its own timestamp (within the 300 s window): the same second again is a replay. */
  private static final AtomicLong STAMPS = new AtomicLong(Instant.now().getEpochSecond() - 200);

  private static Config overrides(Map<String, Object> more) {
    Map<String, Object> base = new HashMap<>(Map.of(
        "conduit.hub.hubs", HUB + ":" + SECRET, "conduit.webhook.admin-token", TOKEN,
        // Heartbeats every second, eviction after 10 s of silence: the hub answers every heartbeat, so only
        // a hub that stops talking is evicted, with a wide margin.
        "conduit.hub.heartbeat-interval", "1s", "conduit.hub.stale-timeout", "10s"));
    base.putAll(more);
    return ConfigFactory.parseMap(base);
  }

  private static long stamp() {
    return STAMPS.incrementAndGet();
  }

  @Test
  void h2cProtoDeliversInOrderAcksHeartbeatsIsEvictedWhenSilentAndReconnects() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, overrides(Map.of()));
         TestDestination destination = TestDestination.start()) {
      OkHttpClient http = ConnectHub.h2c().build();
      String base = "http://127.0.0.1:" + server.grpcPort();
      EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
      String endpoint = api.createEndpoint("e", destination.url("/e"), HUB);
      try (ConnectHub hub = ConnectHub.connect(http, base, ConnectHub.Options.PROTO, HUB, SECRET, stamp())) {
        assertConnected(hub);
        deliverInOrder(api, endpoint, hub, List.of("{\"n\":1}", "{\"n\":2}", "{\"n\":3}"));
        // Heartbeats both ways: the edge's arrive (every 1 s) and the hub's answers count as life.
        assertTrue(hub.next(TIMEOUT, true).hasHeartbeat());
        assertTrue(api.admin("GET", "/api/hubs", null).json().path("hubs").get(0).path("last_heartbeat").isTextual());
      }
      // A hub that connects and then says nothing is evicted after stale-timeout.
      try (ConnectHub silent = ConnectHub.open(http, base, ConnectHub.Options.PROTO, false,
          List.of(ConnectHub.connect(HUB, stamp(), HubSignature.sign(HUB, STAMPS.get(), SECRET))))) {
        assertConnected(silent);
        ConnectException evicted = silent.awaitEnd(TIMEOUT);
        assertNotNull(evicted, "evicted with an error; received " + silent.received());
        assertEquals(Code.UNAVAILABLE, evicted.getCode(), evicted + " / " + evicted.getMessage() + " / " + evicted.getException());
        assertEquals("stale: no message for 10 s", evicted.getMessage());
      }
      // It reconnects and gets what arrived meanwhile.
      String id = api.ingestOk(endpoint, "{\"n\":4}");
      try (ConnectHub again = ConnectHub.connect(http, base, ConnectHub.Options.PROTO, HUB, SECRET, stamp())) {
        assertConnected(again);
        WebhookEnvelope webhook = again.next(TIMEOUT, false).getWebhook();
        assertEquals(id, webhook.getId());
        assertEquals("{\"n\":4}", webhook.getPayload().toStringUtf8());
        again.send(ConnectHub.ack(id));
        api.awaitStatus(id, "delivered", TIMEOUT);
      }
    }
  }

  @Test
  void wrongSecretAndExpiredTimestampAreRefusedWithTheirCodes() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, overrides(Map.of()))) {
      OkHttpClient http = ConnectHub.h2c().build();
      String base = "http://127.0.0.1:" + server.grpcPort();
      long now = Instant.now().getEpochSecond();
      assertRefused(http, base, ConnectHub.Options.PROTO, ConnectHub.connect(HUB, now, HubSignature.sign(HUB, now, "wrong")),
          "invalid signature", Code.UNAUTHENTICATED);
      long expired = now - 400;
      assertRefused(http, base, ConnectHub.Options.JSON_GZIP,
          ConnectHub.connect(HUB, expired, HubSignature.sign(HUB, expired, SECRET)),
          "timestamp outside allowed window", Code.UNAUTHENTICATED);
      assertRefused(http, base, ConnectHub.Options.PROTO, ConnectHub.heartbeat(), "first message must be connect",
          Code.INVALID_ARGUMENT);
    }
  }

  @Test
  void overTlsJsonAndGzipTakingTurnsWithAGrpcHub() throws Exception {
    int hubPort = ChildServer.freePort();
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2)) {
      HeldCertificate certificate = new HeldCertificate.Builder().rsa2048().commonName("localhost")
          .addSubjectAlternativeName("localhost").addSubjectAlternativeName("127.0.0.1").build();
      Path certFile = Files.writeString(db.dataDir().resolve("edge.crt"), certificate.certificatePem());
      Path keyFile = Files.writeString(db.dataDir().resolve("edge.key"), certificate.privateKeyPkcs8Pem());
      HandshakeCertificates trust = new HandshakeCertificates.Builder()
          .addTrustedCertificate(certificate.certificate()).build();
      List<String> encodings = new CopyOnWriteArrayList<>();
      OkHttpClient https = new OkHttpClient.Builder().protocols(List.of(Protocol.HTTP_2, Protocol.HTTP_1_1))
          .sslSocketFactory(trust.sslSocketFactory(), trust.trustManager())
          .readTimeout(Duration.ZERO).writeTimeout(Duration.ZERO)
          .addNetworkInterceptor(chain -> {
            okhttp3.Response response = chain.proceed(chain.request());
            encodings.add(response.protocol() + " " + response.header("Connect-Content-Encoding"));
            return response;
          })
          .build();
      String base = "https://localhost:" + hubPort;
      try (TestServer server = TestServer.start(db, overrides(Map.of("conduit.hub.grpc-port", hubPort,
               "conduit.hub.tls.certificate", certFile.toString(), "conduit.hub.tls.private-key", keyFile.toString())));
           TestDestination destination = TestDestination.start()) {
        EdgeApi api = new EdgeApi(server.httpBase(), TOKEN);
        String endpoint = api.createEndpoint("e", destination.url("/e"), HUB);
        try (ConnectHub json = ConnectHub.connect(https, base, ConnectHub.Options.JSON_GZIP, HUB, SECRET, stamp())) {
          assertConnected(json);
          // One body over compress-min-bytes (1 KiB): it comes gzip-compressed, as negotiated.
          deliverInOrder(api, endpoint, json, List.of("{\"big\":\"" + "x".repeat(4000) + "\"}", "{\"n\":2}"));
          assertEquals("h2 gzip", encodings.get(0), "HTTP/2 over TLS, gzip responses");

          // A gRPC hub (TLS) connects: it replaces the Connect hub, which is told why.
          try (TestHub grpc = TestHub.connect(system -> org.apache.pekko.grpc.GrpcClientSettings
              .connectToServiceAt("127.0.0.1", hubPort, system).withTls(true).withTrustManager(trust.trustManager())
              .withOverrideAuthority("localhost"), HUB, SECRET)) {
            assertTrue(grpc.awaitConnectResponse(TIMEOUT).getSuccess());
            ConnectException replaced = json.awaitEnd(TIMEOUT);
            assertNotNull(replaced);
            assertEquals(Code.ABORTED, replaced.getCode());
            assertEquals("replaced by a newer connection", replaced.getMessage());
            String viaGrpc = api.ingestOk(endpoint, "{\"via\":\"grpc\"}");
            api.awaitStatus(viaGrpc, "delivered", TIMEOUT);
            assertEquals(viaGrpc, grpc.webhooks().get(0).getId());

            // And a Connect hub (proto) takes over again.
            try (ConnectHub proto = ConnectHub.connect(https, base, ConnectHub.Options.PROTO, HUB, SECRET, stamp())) {
              assertConnected(proto);
              Throwable grpcEnd = grpc.awaitEnd(TIMEOUT);
              assertNotNull(grpcEnd);
              assertTrue(grpcEnd.toString().contains("replaced by a newer connection"), grpcEnd.toString());
              deliverInOrder(api, endpoint, proto, List.of("{\"via\":\"connect\"}"));
            }
          }
        }
        List<String> bodies = destination.requests("/e").stream().map(TestDestination.Request::bodyText).toList();
        assertEquals(List.of("{\"via\":\"grpc\"}"), bodies, "the test hubs ack themselves; only the gRPC TestHub POSTs");
        long now = Instant.now().getEpochSecond();
        assertRefused(https, base, ConnectHub.Options.PROTO,
            ConnectHub.connect(HUB, now, HubSignature.sign(HUB, now, "wrong")), "invalid signature", Code.UNAUTHENTICATED);
      }
    }
  }

  @Test
  void connectTimeoutEndsTheStreamAndBadRequestsAreAnsweredAsTheProtocolSays() throws Exception {
    try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.H2);
         TestServer server = TestServer.start(db, overrides(Map.of()))) {
      OkHttpClient http = ConnectHub.h2c().build();
      String base = "http://127.0.0.1:" + server.grpcPort();
      try (ConnectHub hub = ConnectHub.open(http, base,
          new ConnectHub.Options(false, false, Map.of("Connect-Timeout-Ms", List.of("1500"))), true,
          List.of(ConnectHub.connect(HUB, stamp(), HubSignature.sign(HUB, STAMPS.get(), SECRET))))) {
        assertConnected(hub);
        ConnectException error = hub.awaitEnd(TIMEOUT);
        assertNotNull(error);
        assertEquals(Code.DEADLINE_EXCEEDED, error.getCode());
        assertEquals("Connect-Timeout-Ms elapsed", error.getMessage());
      }
      // An unknown compression is refused with unimplemented in the end-stream message.
      try (ConnectHub hub = ConnectHub.open(http, base,
          new ConnectHub.Options(false, false, Map.of("Connect-Content-Encoding", List.of("br"))), false, List.of())) {
        ConnectException error = hub.awaitEnd(TIMEOUT);
        assertNotNull(error);
        assertEquals(Code.UNIMPLEMENTED, error.getCode());
        assertEquals("unsupported Connect-Content-Encoding br; supported: gzip, identity", error.getMessage());
      }
      // HTTP/1.1 cannot carry a bidirectional stream; an unknown content type gets 415 with a Connect error body.
      HttpClient http11 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      HttpResponse<byte[]> overHttp11 = http11.send(HttpRequest.newBuilder(URI.create(base + "/" + ConnectHub.PATH))
          .header("Content-Type", "application/connect+proto").POST(HttpRequest.BodyPublishers.ofByteArray(new byte[5]))
          .build(), HttpResponse.BodyHandlers.ofByteArray());
      assertEquals(200, overHttp11.statusCode());
      assertEquals("{\"error\":{\"code\":\"unimplemented\",\"message\":\"bidirectional streaming needs HTTP/2 "
              + "(h2c with prior knowledge, or TLS with ALPN h2); got HTTP/1.1\"}}",
          new String(overHttp11.body(), 5, overHttp11.body().length - 5), "one end-stream envelope");
      assertEquals(Envelope.END_STREAM, overHttp11.body()[0]);
      HttpResponse<String> xml = http11.send(HttpRequest.newBuilder(URI.create(base + "/" + ConnectHub.PATH))
          .header("Content-Type", "application/xml").POST(HttpRequest.BodyPublishers.ofString("<a/>")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(415, xml.statusCode());
      assertTrue(xml.body().startsWith("{\"code\":\"unimplemented\",\"message\":\"unsupported content type "
          + "application/xml; accepted: application/grpc,"), xml.body());
    }
  }

  /** connect_response{success=false, error=text}, then the end-stream error with the code and the same text. */
  static void assertRefused(OkHttpClient http, String base, ConnectHub.Options options,
                            dev.conduit.hub.grpc.StreamRequest first, String text, Code code) throws Exception {
    try (ConnectHub hub = ConnectHub.open(http, base, options, false, List.of(first))) {
      StreamResponse response = hub.next(TIMEOUT, false);
      assertEquals(false, response.getConnectResponse().getSuccess(), response.toString());
      assertEquals(text, response.getConnectResponse().getError());
      ConnectException error = hub.awaitEnd(TIMEOUT);
      assertNotNull(error, "ended with an error; received " + hub.received());
      assertEquals(code, error.getCode(), error + " / " + error.getException());
      assertEquals(text, error.getMessage());
    }
  }

  private static void assertConnected(ConnectHub hub) throws Exception {
    StreamResponse first = hub.next(TIMEOUT, false);
    assertTrue(first.hasConnectResponse(), first.toString());
    assertTrue(first.getConnectResponse().getSuccess(), first.toString());
  }

  /** Ingests the bodies; each arrives in order (attempt 1) and is acknowledged before the next is sent. */
  private static void deliverInOrder(EdgeApi api, String endpoint, ConnectHub hub, List<String> bodies)
      throws Exception {
    List<String> ids = new ArrayList<>();
    for (String body : bodies) {
      ids.add(api.ingestOk(endpoint, body));
    }
    for (int i = 0; i < bodies.size(); i++) {
      WebhookEnvelope webhook = hub.next(TIMEOUT, false).getWebhook();
      assertEquals(ids.get(i), webhook.getId());
      assertEquals(endpoint, webhook.getEndpointId());
      assertEquals(1, webhook.getAttempt());
      assertEquals(bodies.get(i), webhook.getPayload().toStringUtf8());
      hub.send(ConnectHub.ack(webhook.getId()));
      api.awaitStatus(ids.get(i), "delivered", TIMEOUT);
    }
  }
}
