# The DC Overview app image. The build context is a source tree (pyproject.toml, README.md, src/):
# the repository itself, or the one `dc-overview images build` assembles from the installed package.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

ARG APP_UID=10001
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates python3 python3-venv openssh-client \
 && rm -rf /var/lib/apt/lists/*

# node_exporter for the workers, from Debian's signed package (only the binary is kept): the app
# deploys it over SSH without internet access (quickstart key artifacts.node_exporter: bundled).
RUN apt-get update \
 && cd /tmp && apt-get download prometheus-node-exporter \
 && dpkg-deb -x prometheus-node-exporter_*.deb node-exporter \
 && install -D -m 0755 node-exporter/usr/bin/prometheus-node-exporter \
      /opt/dc-overview-artifacts/node_exporter \
 && /opt/dc-overview-artifacts/node_exporter --version \
 && rm -rf /tmp/node-exporter /tmp/prometheus-node-exporter_*.deb /var/lib/apt/lists/*

# Dependencies first, in their own layer: a code change then rebuilds in seconds.
COPY pyproject.toml README.md /build/
RUN python3 -m venv /opt/dc-overview \
 && python3 -c "import tomllib; deps = tomllib.load(open('/build/pyproject.toml', 'rb'))['project']['dependencies']; open('/build/requirements.txt', 'w').write('\n'.join(deps))" \
 && PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 \
      /opt/dc-overview/bin/pip install --no-cache-dir -r /build/requirements.txt
COPY src /build/src
RUN PIP_DISABLE_PIP_VERSION_CHECK=1 /opt/dc-overview/bin/pip install --no-cache-dir --no-deps /build \
 && rm -rf /build

RUN useradd --system --uid ${APP_UID} --home-dir /data --shell /usr/sbin/nologin dcoverview \
 && mkdir -p /data /etc/dc-overview \
 && chown dcoverview:dcoverview /data /etc/dc-overview

USER ${APP_UID}
ENV PATH=/opt/dc-overview/bin:$PATH \
    DC_OVERVIEW_DATA=/data \
    DC_OVERVIEW_CONFIG_DIR=/etc/dc-overview \
    DC_OVERVIEW_BIND=0.0.0.0:5001
VOLUME ["/data"]
EXPOSE 5001
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:5001/api/health', timeout=4).status != 200)"]
ENTRYPOINT ["dc-overview"]
CMD ["serve", "--workers", "2"]
