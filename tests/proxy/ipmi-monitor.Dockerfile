# The published IPMI Monitor 1.2.0 from PyPI, for the coexistence test behind cryptolabs-proxy.
# Run it on a network without outside routing and with --dns 127.0.0.1: the release calls its
# vendor's services (licence checks, a report on shutdown), and nothing may leave the machine.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/ipmi-monitor \
 && PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 \
      /opt/ipmi-monitor/bin/pip install --no-cache-dir ipmi-monitor==1.2.0 \
 && /opt/ipmi-monitor/bin/ipmi-monitor run --help \
 && mkdir -p /app/data
ENV PATH=/opt/ipmi-monitor/bin:$PATH \
    DATA_DIR=/app/data
EXPOSE 5000
CMD ["ipmi-monitor", "run", "--host", "0.0.0.0", "--port", "5000"]
