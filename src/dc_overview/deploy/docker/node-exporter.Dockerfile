# node_exporter from Debian's package, for sites that cannot pull prom/node-exporter.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus-node-exporter \
 && rm -rf /var/lib/apt/lists/*
USER 65534
EXPOSE 9100
ENTRYPOINT ["/usr/bin/prometheus-node-exporter"]
