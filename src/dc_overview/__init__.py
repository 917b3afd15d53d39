"""DC Overview: monitoring for GPU datacenters."""

__version__ = "0.1.0"
