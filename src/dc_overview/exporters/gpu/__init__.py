"""dc-exporter: GPU health, VRAM and hot-spot temperature for Prometheus, dcgm-exporter names."""
