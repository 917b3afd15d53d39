"""Vast.ai: earnings, occupancy and listing state, from vastai-exporter."""

from __future__ import annotations

from grafana_foundation_sdk.models.dashboard import Dashboard

from dc_overview.exporters.vastai.metrics import OCCUPANCY
from dc_overview.grafana.dashboards import panels as p
from dc_overview.grafana.dashboards.names import vast

UID = "dc-overview-vastai"
ACCOUNT = 'account=~"$account"'
MACHINE = 'account=~"$account", hostname=~"$machine"'
MACHINE_BY = "account, machine_id, hostname"
HOSTNAME = "{{hostname}}"
USD = "currencyUSD"
# What each gpu_occupancy letter means, shown on the occupancy timeline.
OCCUPANCY_WORDS = {
    "x": ("idle", "green"),
    "I": ("interruptible", "blue"),
    "D": ("on demand", "purple"),
    "R": ("reserved", "orange"),
}


def _m(name: str, selector: str = MACHINE) -> str:
    return f"{vast(name)}{{{selector}}}"


def _earnings() -> list:
    window = " + ".join(
        f"sum({_m(name, ACCOUNT)})"
        for name in (
            "vastai_earnings_total_gpu",
            "vastai_earnings_total_stor",
            "vastai_earnings_total_bwu",
            "vastai_earnings_total_bwd",
        )
    )
    # Per-machine earnings carry no hostname: take it (and the filter) from the machine list.
    hosts = f"group by ({MACHINE_BY}) ({_m('vast_machine_Listed')})"
    per_machine = (
        f"{_m('vastai_earnings_machine_gpu', ACCOUNT)}"
        f" * on (account, machine_id) group_left (hostname) {hosts}"
    )
    totals = [
        ("Balance", f"sum({_m('vastai_account_balance', ACCOUNT)})"),
        ("Credit", f"sum({_m('vastai_account_credit', ACCOUNT)})"),
        ("Earned in the window", window),
        ("Service fee", f"sum({_m('vastai_earnings_current_service_fee', ACCOUNT)})"),
        ("Earning per day", f"sum({_m('vastai_machine_earn_day')})"),
        ("Earning per hour", f"sum({_m('vastai_machine_earn_hour')})"),
    ]
    by_day = p.query(_m("vastai_machine_earn_day"), HOSTNAME)
    return [
        *(p.single(title, USD, p.query(expr)) for title, expr in totals),
        p.graph("Earning per day, by machine", USD, by_day),
        p.graph("GPU earnings in the window, by machine", USD, p.query(per_machine, HOSTNAME)),
        p.graph("Balance", USD, p.query(_m("vastai_account_balance", ACCOUNT), "{{account}}")),
    ]


def _occupancy() -> list:
    gpus = _m("vastai_machine_gpu_occupancy")
    rented = f"(count({gpus} > 0) or vector(0))"
    listed = f"sum({_m('vast_machine_num_gpus')} * {_m('vast_machine_Listed')})"
    mapping = {int(OCCUPANCY[letter]): words for letter, words in OCCUPANCY_WORDS.items()}
    rentals = p.graph(
        "Rentals running",
        "short",
        p.query(_m("vastai_machine_current_rentals_running"), HOSTNAME + " all", "A"),
        p.query(
            _m("vastai_machine_current_rentals_running_on_demand"), HOSTNAME + " on demand", "B"
        ),
    )
    return [
        p.single("GPUs listed", "short", p.query(listed), span=6),
        p.single("GPUs rented", "short", p.query(rented), span=6),
        p.single("GPUs idle", "short", p.query(f"sum({_m('vastai_machine_gpu_idle')})"), span=6),
        p.single("Occupancy", "percent", p.query(f"100 * {rented} / count({gpus})"), span=6),
        p.states("GPU occupancy", p.query(gpus, HOSTNAME + " GPU {{gpu}}"), mapping, span=24),
        rentals,
    ]


def _machines_table() -> object:
    columns = [
        ("GPUs", "short", _m("vast_machine_num_gpus")),
        ("Listed", "bool_yes_no", _m("vast_machine_Listed")),
        ("Verified", "bool_yes_no", _m("vast_machine_Verification")),
        ("Reliability", "percentunit", _m("vast_machine_Reliability")),
        ("Price per GPU-hour", USD, _m("vastai_machine_listed_gpu_cost")),
        ("Minimum bid", USD, _m("vastai_machine_min_bid_price")),
        ("Earning per day", USD, _m("vastai_machine_earn_day")),
        ("Download Mbit/s", "short", _m("vast_machine_InetDown")),
        ("Upload Mbit/s", "short", _m("vastai_machine_InetUp")),
        ("Disk free GB", "short", _m("vastai_machine_avail_disk_space")),
    ]
    return p.merged_table("Machines", columns, MACHINE_BY)


def _listing() -> list:
    yes_no = {0: ("no", "red"), 1: ("yes", "green")}
    return [
        p.states("Listed", p.query(_m("vast_machine_Listed"), HOSTNAME), yes_no),
        p.states("Verified", p.query(_m("vast_machine_Verification"), HOSTNAME), yes_no),
        _machines_table(),
        p.graph("Reliability", "percentunit", p.query(_m("vast_machine_Reliability"), HOSTNAME)),
        p.info_table("Errors Vast.ai reports", _m("vastai_machine_ErrorDescription"), span=8),
        p.info_table("GPU models", _m("vast_machine_gpu_name"), span=8),
    ]


def _exporter() -> list:
    errors = f"rate({_m('vastai_exporter_api_errors_total', ACCOUNT)}[$__rate_interval])"
    return [
        p.graph("API works (1) or fails (0)", "short",
                p.query(_m("vastai_exporter_up", ACCOUNT), "{{account}}")),
        p.graph("Failed API calls per second", "short",
                p.query(errors, "{{account}} {{endpoint}}")),
        p.info_table("API calls failing now", _m("vastai_exporter_error", ACCOUNT), span=8),
    ]  # fmt: skip


def vastai_dashboard() -> Dashboard:
    # From the exporter's own `up`: an account whose key fails stays selectable.
    accounts = p.variable(
        "account", "Account", f"label_values({vast('vastai_exporter_up')}, account)"
    )
    machines = p.variable(
        "machine", "Machine", f"label_values({_m('vast_machine_Listed', ACCOUNT)}, hostname)"
    )
    board = p.dashboard(UID, "Vast.ai", "Earnings, occupancy and listing state of Vast.ai hosts.")
    items = [
        p.row("Earnings"),
        *_earnings(),
        p.row("Occupancy"),
        *_occupancy(),
        p.row("Listing"),
        *_listing(),
        p.row("vastai-exporter"),
        *_exporter(),
    ]
    return p.build(board.with_variable(accounts).with_variable(machines), items)
