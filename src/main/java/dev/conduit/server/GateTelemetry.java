package dev.conduit.server;

import java.util.List;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.http.impl.engine.http2.TelemetrySpi;
import org.apache.pekko.http.scaladsl.model.HttpRequest;
import org.apache.pekko.http.scaladsl.model.HttpResponse;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.scaladsl.BidiFlow;
import org.apache.pekko.stream.scaladsl.Flow;
import org.apache.pekko.stream.scaladsl.Tcp;
import org.apache.pekko.util.ByteString;

/**
 * Applies the {@link ConnectionGate} to the port pekko-http binds with HTTP/2 (gRPC on its own port). pekko-http offers no public hook into the accept loop of an HTTP/2 binding; this is
 * its instrumentation hook ({@code @InternalStableApi}, configured by
 * {@code pekko.http.http2-telemetry-class} in application.conf), which sees every accepted TCP
 * connection before pekko-http reads from it. A connection over the caps is closed at once; an
 * admitted one releases its ticket when its TCP stream ends, whatever it carried. On a plaintext port
 * a connection that starts a TLS handshake is closed with a log line ({@link PlaintextPortGuard}). The
 * public port does not come through here, with or without gRPC on it: {@link HttpServer} binds and gates
 * it itself (its HTTP/2 connections too, see {@link PrefaceSwitch}).
 */
public final class GateTelemetry implements TelemetrySpi {
  private final ActorSystem system;

  /** Instantiated by pekko-http for every actor system that uses HTTP/2, clients (the hub client) included. */
  public GateTelemetry(ActorSystem system) {
    this.system = system;
  }

  @Override
  public Flow<Tcp.IncomingConnection, Tcp.IncomingConnection, NotUsed> serverBinding() {
    // Looked up per binding: only a process that serves HTTP/2 needs the gate.
    ConnectionGate gate = ConnectionGate.get(system);
    Materializer materializer = Materializer.matFromSystem(system);
    return org.apache.pekko.stream.javadsl.Flow.<Tcp.IncomingConnection>create()
        .mapConcat(incoming -> admit(gate, materializer, incoming))
        .asScala();
  }

  private static List<Tcp.IncomingConnection> admit(ConnectionGate gate, Materializer materializer,
                                                    Tcp.IncomingConnection incoming) {
    ConnectionGate.Admission admission = gate.admit(incoming.remoteAddress().getAddress());
    if (admission.ticket().isEmpty()) {
      Source.<ByteString>empty().via(incoming.flow().asJava()).runWith(Sink.cancelled(), materializer);
      return List.of();
    }
    ConnectionGate.Ticket ticket = admission.ticket().get();
    org.apache.pekko.stream.javadsl.Flow<ByteString, ByteString, NotUsed> tcp = incoming.flow().asJava();
    int port = incoming.localAddress().getPort();
    if (gate.isPlaintextHttp2Port(port)) {
      tcp = tcp.via(new PlaintextPortGuard(() -> gate.tlsOnPlaintextPort(ticket.address(), port)));
    }
    Flow<ByteString, ByteString, NotUsed> counted = tcp
        .watchTermination((mat, done) -> {
          done.whenComplete((d, failure) -> ticket.release());
          return mat;
        }).asScala();
    return List.of(new Tcp.IncomingConnection(incoming.localAddress(), incoming.remoteAddress(), counted));
  }

  @Override
  public BidiFlow<HttpResponse, HttpResponse, HttpRequest, HttpRequest, NotUsed> serverConnection() {
    return org.apache.pekko.stream.javadsl.BidiFlow.<HttpResponse, HttpRequest>identity().asScala();
  }

  @Override
  public BidiFlow<HttpRequest, HttpRequest, HttpResponse, HttpResponse, NotUsed> client() {
    return org.apache.pekko.stream.javadsl.BidiFlow.<HttpRequest, HttpResponse>identity().asScala();
  }
}
