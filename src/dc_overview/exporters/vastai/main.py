"""vastai-exporter: the command line. Refresh the Vast.ai API in the background, serve /metrics."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, generate_latest

from ..version import VERSION
from ..web import add_serving_arguments, make_server, registry_renderer, serve_until_signalled
from ..webconfig import WebConfig, WebConfigError, load_web_config
from .client import DEFAULT_API_URL, KeyFileError, VastClient, load_accounts
from .collector import VastCollector, VastRefresher

log = logging.getLogger("vastai_exporter")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vastai-exporter",
        description="Vast.ai account balance, machines and earnings for Prometheus.",
    )
    add = parser.add_argument
    add("--listen", default=":8622", help="[host]:port to serve on (default :8622)")
    add("--api-keys-file", required=True, help="file of 'name:key' (or 'key') lines, mode 600")
    add("--cache-seconds", type=float, default=60.0, help="seconds between API refreshes")
    add("--earnings-days", type=float, default=30.0, help="earnings window in days (default 30)")
    add("--api-url", default=DEFAULT_API_URL, help=argparse.SUPPRESS)
    add("--timeout", type=float, default=10.0, help="seconds one API call may take")
    add_serving_arguments(
        parser, "vastai-exporter", VERSION, "refresh once, print the exposition, exit"
    )
    return parser


def _serve(args: argparse.Namespace, registry: CollectorRegistry, config: WebConfig) -> int:
    try:
        server = make_server(args.listen, registry_renderer(registry), config, "vastai-exporter")
    except (OSError, ValueError, WebConfigError) as exc:
        log.error("cannot serve on %s: %s", args.listen, exc)
        return 1
    log.info("vastai-exporter %s serving on %s", VERSION, args.listen)
    return serve_until_signalled(server)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    try:
        accounts = load_accounts(args.api_keys_file)
        config = load_web_config(args.web_config) if args.web_config else WebConfig()
    except (KeyFileError, WebConfigError) as exc:
        log.error("%s", exc)
        return 2
    clients = tuple(VastClient(account, args.api_url, args.timeout) for account in accounts)
    refresher = VastRefresher(clients, args.cache_seconds, args.earnings_days)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VastCollector(refresher))
    if args.once:
        refresher.refresh_once()
        sys.stdout.write(generate_latest(registry).decode())
        return 0
    refresher.start()
    try:
        return _serve(args, registry, config)
    finally:
        refresher.stop()


if __name__ == "__main__":
    sys.exit(main())
