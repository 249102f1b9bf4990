package dev.conduit.webhook;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * The one way to address an endpoint entity: by endpoint id, through Cluster Sharding (an EntityRef for
 * {@link WebhookEndpoint#ENTITY_KEY}), wherever in the cluster the entity runs. Ingest, the admin API, the
 * hub side and the entities' own keep-alive all go through this; nobody holds an entity's ActorRef, which
 * would not survive passivation or move with a shard. On one node a message costs region → shard → entity,
 * with no serialization.
 */
public final class EndpointEntities implements DeliveryProtocol.Endpoints {
  private final ClusterSharding sharding;
  private final EndpointStore definitions;

  /** WebhookEndpoint.init must have run on this system (or run before the first message is sent). */
  EndpointEntities(ActorSystem<?> system, EndpointStore definitions) {
    this.sharding = ClusterSharding.get(system);
    this.definitions = definitions;
  }

  /** Delivers message to the entity of endpointId (on whichever node), starting it if needed; never blocks. */
  public void tell(String endpointId, WebhookEndpoint.Command message) {
    sharding.entityRefFor(WebhookEndpoint.ENTITY_KEY, endpointId).tell(message);
  }

  @Override
  public void tell(String endpointId, DeliveryProtocol.ToEndpoint message) {
    tell(endpointId, (WebhookEndpoint.Command) message);
  }

  /** Asks the entity of endpointId; fails with a TimeoutException after timeout. */
  public <R> CompletionStage<R> ask(String endpointId, Function<ActorRef<R>, WebhookEndpoint.Command> message,
                                    Duration timeout) {
    return sharding.entityRefFor(WebhookEndpoint.ENTITY_KEY, endpointId).ask(message::apply, timeout);
  }

  @Override
  public List<String> ofHub(String hubId) {
    return definitions.ofHub(hubId).stream().map(Endpoint::id).toList();
  }
}
