# Build: Maven with a JDK 17, producing the shaded jar target/conduit.jar.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /build
COPY pom.xml .
RUN mvn -B -ntp dependency:go-offline
COPY src ./src
RUN mvn -B -ntp -DskipTests package

# Run: a slim JRE, an unprivileged user, the journal under /var/lib/conduit.
FROM eclipse-temurin:17-jre
RUN useradd --system --uid 10001 --home-dir /var/lib/conduit conduit \
    && mkdir -p /var/lib/conduit && chown conduit /var/lib/conduit
COPY --from=build /build/target/conduit.jar /opt/conduit/conduit.jar
USER conduit
WORKDIR /var/lib/conduit
ENV CONDUIT_DATA_DIR=/var/lib/conduit \
    CONDUIT_HTTP_PORT=8080 \
    CONDUIT_GRPC_PORT=8081
# 8080: public HTTP/1.1 (ingest, admin, tunnel WebSockets); 8081: the hub stream (gRPC).
# 25520: the cluster port (Artery), 8558: pekko-management (cluster bootstrap). A clustered container sets
# CONDUIT_CLUSTER_HOST to its own reachable address and CONDUIT_CLUSTER_BIND_HOST=0.0.0.0; these ports
# must only be reachable by the other nodes (README, "Running a cluster").
EXPOSE 8080 8081 25520 8558
HEALTHCHECK --interval=30s --timeout=5s \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${CONDUIT_HTTP_PORT} && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
# One file descriptor per connection: the soft open-file limit is raised to the hard one (give the
# container enough, e.g. docker run --ulimit nofile=70000:70000, for max-connections + fd-reserve);
# Conduit caps its connections below whatever limit it gets and says so at start-up.
ENTRYPOINT ["/bin/sh", "-c", "ulimit -n \"$(ulimit -Hn)\" 2>/dev/null; exec java -XX:MaxRAMPercentage=75 -jar /opt/conduit/conduit.jar \"$@\"", "conduit"]
CMD ["serve"]
