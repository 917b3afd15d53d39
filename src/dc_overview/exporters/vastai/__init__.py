"""vastai-exporter: Vast.ai account balance, machines and earnings for Prometheus."""
