"""cryptolabs-proxy: the front door of a master server (nginx + a small Flask service).

The proxy serves the fleet landing page, reports which services are installed, and owns the one
login for DC Overview, IPMI Monitor, Grafana and Prometheus. It never imports `dc_overview`.
"""

__version__ = "0.1.0"
