package dev.conduit.testing;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.function.Function;

/** A home-network service that webhooks are delivered to: records every request, answers with a chosen status. */
public final class TestDestination implements AutoCloseable {

  public record Request(String path, Map<String, List<String>> headers, byte[] body) {
    public String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }

    public String header(String name) {
      return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
          .map(e -> e.getValue().get(0)).findFirst().orElse(null);
    }
  }

  private final HttpServer server;
  private final List<Request> requests = new ArrayList<>();
  private volatile Function<Request, Integer> responder;

  private TestDestination(HttpServer server) {
    this.server = server;
  }

  /** responder: the status to answer each request with (called after it is recorded). */
  public static TestDestination start(Function<Request, Integer> responder) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    TestDestination destination = new TestDestination(server);
    destination.responder = responder;
    server.createContext("/", exchange -> {
      byte[] body = exchange.getRequestBody().readAllBytes();
      Request request = new Request(exchange.getRequestURI().getPath(), Map.copyOf(exchange.getRequestHeaders()),
          body);
      synchronized (destination.requests) {
        destination.requests.add(request);
      }
      int status = destination.responder.apply(request);
      exchange.sendResponseHeaders(status, -1);
      exchange.close();
    });
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.start();
    return destination;
  }

  public static TestDestination start() throws IOException {
    return start(request -> 200);
  }

  public void respondWith(Function<Request, Integer> responder) {
    this.responder = responder;
  }

  public String url(String path) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + path;
  }

  public List<Request> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  public List<Request> requests(String path) {
    return requests().stream().filter(r -> r.path().equals(path)).toList();
  }

  @Override
  public void close() {
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }
}
