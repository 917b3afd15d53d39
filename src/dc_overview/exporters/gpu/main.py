"""dc-exporter: the command line. Collect in the background, serve /metrics on --listen."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Sequence

from prometheus_client import generate_latest

from ..version import VERSION
from ..web import add_serving_arguments, make_server, serve_until_signalled
from ..webconfig import WebConfig, WebConfigError, load_web_config
from .backends.base import Backend
from .backends.nvidia_smi import NvidiaSmiBackend
from .backends.nvml import NvmlBackend
from .backends.registers import RegisterReader
from .collector import CollectionLoop, Exposition
from .pci import SYSFS_PCI_DEVICES

log = logging.getLogger("dc_exporter")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dc-exporter",
        description="GPU metrics for Prometheus with dcgm-exporter's names, "
        "plus VRAM and hot-spot temperature.",
    )
    add = parser.add_argument
    add("--listen", default=":9835", help="[host]:port to serve on (default :9835)")
    add("--interval", type=float, default=5.0, help="seconds between collections (default 5)")
    add(
        "--backend",
        choices=("auto", "nvml", "nvidia-smi"),
        default="auto",
        help="auto: NVML when the pynvml module is installed, else nvidia-smi",
    )
    add("--nvidia-smi", default="nvidia-smi", help="nvidia-smi binary (nvidia-smi backend)")
    add("--nvidia-smi-xml", default="", help="replay this `nvidia-smi -q -x` capture file")
    add("--timeout", type=float, default=10.0, help="seconds nvidia-smi may take (default 10)")
    add(
        "--registers",
        choices=("auto", "on", "off"),
        default="auto",
        help="read VRAM/hot-spot temperature from BAR0 (auto: when running as root)",
    )
    add("--pci-root", default=SYSFS_PCI_DEVICES, help=argparse.SUPPRESS)
    add("--hostname", default="", help="Hostname label (default: this machine's name)")
    add_serving_arguments(
        parser, "dc-exporter", VERSION, "collect once, print the exposition, exit"
    )
    return parser


def choose_backend(args: argparse.Namespace) -> Backend:
    """NVML unless asked otherwise; nvidia-smi when pynvml is missing, or when NVML's library
    cannot be loaded but nvidia-smi is there. A capture file means nvidia-smi."""
    wanted = args.backend
    if args.nvidia_smi_xml:
        wanted = "nvidia-smi"
    if wanted == "auto":
        wanted = _automatic_backend(args.nvidia_smi)
    if wanted == "nvml":
        return NvmlBackend()
    return NvidiaSmiBackend(args.nvidia_smi, args.nvidia_smi_xml, args.timeout)


def _automatic_backend(nvidia_smi: str) -> str:
    try:
        import pynvml
    except ImportError:
        log.warning("pynvml (nvidia-ml-py) is not installed; using nvidia-smi")
        return "nvidia-smi"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        if shutil.which(nvidia_smi) is None:
            return "nvml"  # neither works: NVML's error becomes the exported reason
        log.warning("NVML cannot be initialised (%s); using %s", exc, nvidia_smi)
        return "nvidia-smi"
    pynvml.nvmlShutdown()
    return "nvml"


def register_reader(args: argparse.Namespace) -> RegisterReader | None:
    enabled = args.registers == "on" or (args.registers == "auto" and os.geteuid() == 0)
    return RegisterReader(args.pci_root) if enabled else None


def _serve(args: argparse.Namespace, exposition: Exposition, config: WebConfig) -> int:
    try:
        server = make_server(args.listen, exposition.render, config, "dc-exporter")
    except (OSError, ValueError, WebConfigError) as exc:
        log.error("cannot serve on %s: %s", args.listen, exc)
        return 1
    scheme = "https" if config.tls is not None else "http"
    log.info("dc-exporter %s serving %s on %s", VERSION, scheme, args.listen)
    return serve_until_signalled(server)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.interval <= 0:
        log.error("--interval must be positive")
        return 2
    try:
        config = load_web_config(args.web_config) if args.web_config else WebConfig()
    except WebConfigError as exc:
        log.error("%s", exc)
        return 2
    loop = CollectionLoop(
        choose_backend(args),
        interval=args.interval,
        hostname=args.hostname,
        pci_root=args.pci_root,
        registers=register_reader(args),
    )
    exposition = Exposition(loop, stall_after=max(3 * args.interval, args.timeout + args.interval))
    if args.once:
        loop.collect_once()
        sys.stdout.write(generate_latest(exposition.registry).decode())
        return 0
    loop.start()
    try:
        return _serve(args, exposition, config)
    finally:
        loop.stop()


if __name__ == "__main__":
    sys.exit(main())
