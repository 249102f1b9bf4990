package dev.conduit.webhook;

import dev.conduit.persistence.EntityKeeper;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * The one way to address an endpoint entity: by endpoint id, through the keeper that runs one entity
 * per id (the single-node stand-in for Cluster Sharding, whose EntityRef will take its place here). Ingest,
 * the admin API, the hub side and the entities' own timers all go through this; nobody holds an entity's
 * ActorRef, which would not survive passivation or move with a shard.
 */
public final class EndpointEntities implements DeliveryProtocol.Endpoints {
  private final ActorRef<EntityKeeper.Command<WebhookEndpoint.Command>> keeper;
  private final EndpointStore definitions;
  private final Scheduler scheduler;

  EndpointEntities(ActorRef<EntityKeeper.Command<WebhookEndpoint.Command>> keeper, EndpointStore definitions,
                   Scheduler scheduler) {
    this.keeper = keeper;
    this.definitions = definitions;
    this.scheduler = scheduler;
  }

  /** Delivers message to the entity of endpointId, starting it if needed. */
  public void tell(String endpointId, WebhookEndpoint.Command message) {
    keeper.tell(EntityKeeper.deliver(endpointId, message));
  }

  @Override
  public void tell(String endpointId, DeliveryProtocol.ToEndpoint message) {
    tell(endpointId, (WebhookEndpoint.Command) message);
  }

  /** Asks the entity of endpointId; fails with a TimeoutException after timeout. */
  public <R> CompletionStage<R> ask(String endpointId, Function<ActorRef<R>, WebhookEndpoint.Command> message,
                                    Duration timeout) {
    return AskPattern.ask(keeper, replyTo -> EntityKeeper.deliver(endpointId, message.apply(replyTo)), timeout,
        scheduler);
  }

  @Override
  public List<String> ofHub(String hubId) {
    return definitions.ofHub(hubId).stream().map(Endpoint::id).toList();
  }
}
