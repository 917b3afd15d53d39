# cryptolabs-proxy: nginx + the proxy's own service (landing page, /api/services, one login).
# Build context: a source tree holding src/cryptolabs_proxy (the repository, or the tree that
# `dc-overview images build` assembles from the installed package):
#   docker build -f proxy/Dockerfile --build-arg BASE_IMAGE=<local bookworm base> .
# Everything comes from Debian's packages, so an air-gapped site needs only its Debian mirror.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

# ca-certificates first: it trusts the CAs the base carries (TLS-intercepting build proxies).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      nginx openssl certbot python3 python3-flask python3-yaml python3-jinja2 python3-click \
      gunicorn \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/default \
 && python3 -c "import flask, yaml, jinja2, click, gunicorn"

COPY src/cryptolabs_proxy /opt/cryptolabs-proxy/cryptolabs_proxy
RUN printf '#!/bin/sh\nexec python3 -m cryptolabs_proxy "$@"\n' > /usr/local/bin/cryptolabs-proxy \
 && chmod 0755 /usr/local/bin/cryptolabs-proxy \
 && find /opt/cryptolabs-proxy -name __pycache__ -prune -exec rm -rf {} + \
 && mkdir -p /data /etc/cryptolabs-proxy/secrets /run/cryptolabs-proxy \
 && chmod 0700 /data /etc/cryptolabs-proxy/secrets \
 && PYTHONPATH=/opt/cryptolabs-proxy cryptolabs-proxy --version

# Non-secret settings only; secrets are files under /etc/cryptolabs-proxy/secrets (0600):
# admin_password (the first admin) and proxy_identity_key (shared with dc-overview).
ENV PYTHONPATH=/opt/cryptolabs-proxy \
    PYTHONDONTWRITEBYTECODE=1 \
    CRYPTOLABS_PROXY_CONFIG_DIR=/etc/cryptolabs-proxy \
    CRYPTOLABS_PROXY_DATA_DIR=/data \
    CRYPTOLABS_PROXY_RUNTIME_DIR=/run/cryptolabs-proxy \
    CRYPTOLABS_PROXY_NGINX_USER=www-data \
    CRYPTOLABS_PROXY_LETSENCRYPT_DIR=/data/letsencrypt
VOLUME ["/data"]
EXPOSE 80 443
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=6s --start-period=20s --retries=3 \
  CMD ["cryptolabs-proxy", "healthcheck"]
ENTRYPOINT ["cryptolabs-proxy"]
CMD ["run"]
