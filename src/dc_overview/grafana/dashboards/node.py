"""Node detail: CPU, memory, disks and network of the servers, from node_exporter."""

from __future__ import annotations

from grafana_foundation_sdk.models.dashboard import Dashboard

from dc_overview.grafana.dashboards import panels as p
from dc_overview.prometheus.rules import NODE_JOB

UID = "dc-overview-node"
SEL = f'job="{NODE_JOB}", instance=~"$server"'
# Filesystems and network devices that say nothing about the server itself.
FS = f'{SEL}, fstype!~"tmpfs|ramfs|devtmpfs|squashfs|overlay"'
NIC = f'{SEL}, device!~"lo|veth.*|docker.*|br-.*|virbr.*|cali.*|flannel.*"'
RATE = "[$__rate_interval]"
BY_HOST = "{{instance}}"


def _rate(metric: str, selector: str) -> str:
    return f"rate({metric}{{{selector}}}{RATE})"


def _summary() -> list:
    uptime = f"time() - node_boot_time_seconds{{{SEL}}}"
    cores = f'count by (instance) (node_cpu_seconds_total{{{SEL}, mode="idle"}})'
    memory = f"node_memory_MemTotal_bytes{{{SEL}}}"
    root = (
        f'100 * (1 - node_filesystem_avail_bytes{{{FS}, mountpoint="/"}}'
        f' / node_filesystem_size_bytes{{{FS}, mountpoint="/"}})'
    )
    return [
        p.single("Uptime", "s", p.query(uptime, BY_HOST), span=6),
        p.single("CPU cores", "short", p.query(cores, BY_HOST), span=6),
        p.single("Memory", "bytes", p.query(memory, BY_HOST), span=6),
        p.single(
            "Root filesystem used",
            "percent",
            p.query(root, BY_HOST),
            ((None, "green"), (80, "orange"), (90, "red")),
            span=6,
        ),
    ]


def _cpu_and_memory() -> list:
    idle = _rate("node_cpu_seconds_total", f'{SEL}, mode="idle"')
    busy = f"100 * (1 - avg by (instance) ({idle}))"
    working = _rate("node_cpu_seconds_total", SEL + ', mode!="idle"')
    modes = f"sum by (instance, mode) ({working})"
    used = f"node_memory_MemTotal_bytes{{{SEL}}} - node_memory_MemAvailable_bytes{{{SEL}}}"
    swap = f"node_memory_SwapTotal_bytes{{{SEL}}} - node_memory_SwapFree_bytes{{{SEL}}}"
    return [
        p.graph("CPU busy", "percent", p.query(busy, BY_HOST)),
        p.graph("CPU time by mode", "short", p.query(modes, "{{instance}} {{mode}}")),
        p.graph(
            "Load average",
            "short",
            p.query(f"node_load1{{{SEL}}}", "{{instance}} 1m", "A"),
            p.query(f"node_load5{{{SEL}}}", "{{instance}} 5m", "B"),
            p.query(f"node_load15{{{SEL}}}", "{{instance}} 15m", "C"),
        ),
        p.graph("Memory used", "bytes", p.query(used, BY_HOST)),
        p.graph("Swap used", "bytes", p.query(swap, BY_HOST)),
        p.graph(
            "Memory available",
            "percent",
            p.query(
                f"100 * node_memory_MemAvailable_bytes{{{SEL}}}"
                f" / node_memory_MemTotal_bytes{{{SEL}}}",
                BY_HOST,
            ),
        ),
    ]


def _disks() -> list:
    used = f"100 * (1 - node_filesystem_avail_bytes{{{FS}}} / node_filesystem_size_bytes{{{FS}}})"
    mount = "{{instance}} {{mountpoint}}"
    device = "{{instance}} {{device}}"
    return [
        p.graph("Filesystem used", "percent", p.query(used, mount)),
        p.graph(
            "Disk throughput",
            "Bps",
            p.query(_rate("node_disk_read_bytes_total", SEL), device + " read", "A"),
            p.query(_rate("node_disk_written_bytes_total", SEL), device + " written", "B"),
        ),
        p.graph(
            "Disk busy",
            "percentunit",
            p.query(_rate("node_disk_io_time_seconds_total", SEL), device),
        ),
    ]


def _network() -> list:
    device = "{{instance}} {{device}}"
    return [
        p.graph(
            "Network traffic",
            "bps",
            p.query(f"8 * {_rate('node_network_receive_bytes_total', NIC)}", device + " in", "A"),
            p.query(f"8 * {_rate('node_network_transmit_bytes_total', NIC)}", device + " out", "B"),
            span=12,
        ),
        p.graph(
            "Network errors and drops",
            "pps",
            p.query(_rate("node_network_receive_errs_total", NIC), device + " rx errors", "A"),
            p.query(_rate("node_network_transmit_errs_total", NIC), device + " tx errors", "B"),
            p.query(_rate("node_network_receive_drop_total", NIC), device + " rx drops", "C"),
            span=12,
        ),
    ]


def node_detail() -> Dashboard:
    # From `up`: a server that is down stays selectable.
    servers = p.variable("server", "Server", f'label_values(up{{job="{NODE_JOB}"}}, instance)')
    board = p.dashboard(UID, "Node detail", "CPU, memory, disks and network from node_exporter.")
    items = [
        p.row("Summary"),
        *_summary(),
        p.row("CPU and memory"),
        *_cpu_and_memory(),
        p.row("Disks"),
        *_disks(),
        p.row("Network"),
        *_network(),
    ]
    return p.build(board.with_variable(servers), items)
