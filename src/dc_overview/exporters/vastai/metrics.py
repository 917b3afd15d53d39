"""vastai-exporter's metric set as data, under the names existing Vast dashboards query.

Machine metrics keep the historical mix of `vast_machine_*` and `vastai_machine_*` names (and
their capitals: `vast_machine_Listed`, `vast_machine_InetDown`, ...) because the community
Vast dashboards query exactly those.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MACHINE_LABELS = ("account", "machine_id", "hostname")


def number(value: Any) -> float | None:
    """A JSON number (or numeric string, or bool) as float; None for anything else."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def flag(value: Any) -> float | None:
    """True/False (or 1/0) as 1/0; None when absent."""
    return None if value is None else (1.0 if value else 0.0)


def verified(value: Any) -> float | None:
    """Vast's verification is a string ("verified", "unverified", "deverified")."""
    if value is None:
        return None
    if isinstance(value, str):
        return 1.0 if value.strip().lower() == "verified" else 0.0
    return flag(value)


Convert = Callable[[Any], "float | None"]

# name, help, machine JSON field, conversion
MACHINE_METRICS: tuple[tuple[str, str, str, Convert], ...] = (
    ("vast_machine_Listed", "Machine listed (1) or not (0).", "listed", flag),
    ("vast_machine_Verification", "Machine verified (1) or not (0).", "verification", verified),
    ("vast_machine_Reliability", "Machine reliability (0-1).", "reliability2", number),
    ("vast_machine_timeout", "Machine timeout.", "timeout", number),
    ("vast_machine_num_gpus", "Number of GPUs in the machine.", "num_gpus", number),
    ("vast_machine_total_flops", "Machine total TFLOPS.", "total_flops", number),
    ("vast_machine_InetDown", "Measured download speed (Mbps).", "inet_down", number),
    ("vastai_machine_InetUp", "Measured upload speed (Mbps).", "inet_up", number),
    ("vastai_machine_max_disk_space", "Maximum disk space (GB).", "max_disk_space", number),
    ("vastai_machine_alloc_disk_space", "Allocated disk space (GB).", "alloc_disk_space", number),
    ("vastai_machine_avail_disk_space", "Available disk space (GB).", "avail_disk_space", number),
    (
        "vastai_machine_current_rentals_running",
        "Rentals running on the machine.",
        "current_rentals_running",
        number,
    ),
    (
        "vastai_machine_current_rentals_running_on_demand",
        "On-demand rentals running on the machine.",
        "current_rentals_running_on_demand",
        number,
    ),
    (
        "vastai_machine_current_rentals_resident",
        "Resident rentals on the machine.",
        "current_rentals_resident",
        number,
    ),
    (
        "vastai_machine_current_rentals_on_demand",
        "On-demand rentals on the machine.",
        "current_rentals_on_demand",
        number,
    ),
    ("vastai_machine_earn_hour", "Machine earnings per hour (USD).", "earn_hour", number),
    ("vastai_machine_earn_day", "Machine earnings per day (USD).", "earn_day", number),
    (
        "vastai_machine_listed_gpu_cost",
        "Listed on-demand price per GPU-hour (USD).",
        "listed_gpu_cost",
        number,
    ),
    ("vastai_machine_min_bid_price", "Minimum bid price (USD).", "min_bid_price", number),
)

# gpu_occupancy letters: x idle, I interruptible (bid), D on demand, R reserved.
OCCUPANCY = {"x": 0.0, "I": 1.0, "D": 2.0, "R": 3.0}
OCCUPANCY_HELP = "GPU occupancy per GPU slot: 0 idle, 1 interruptible, 2 on demand, 3 reserved."

# name, help, account JSON field
ACCOUNT_METRICS = (
    ("vastai_account_balance", "Account balance (USD).", "balance"),
    ("vastai_account_credit", "Account credit (USD).", "credit"),
)

# name, help, section of machine-earnings, field
EARNINGS_METRICS = (
    ("vastai_earnings_current_balance", "Earnings: current balance (USD).", "current", "balance"),
    (
        "vastai_earnings_current_service_fee",
        "Earnings: service fee (USD).",
        "current",
        "service_fee",
    ),
    ("vastai_earnings_current_total_usd", "Earnings: current total (USD).", "current", "total"),
    ("vastai_earnings_current_credit", "Earnings: current credit (USD).", "current", "credit"),
    ("vastai_earnings_total_gpu", "GPU earnings over the window (USD).", "summary", "total_gpu"),
    (
        "vastai_earnings_total_stor",
        "Storage earnings over the window (USD).",
        "summary",
        "total_stor",
    ),
    ("vastai_earnings_total_bwu", "Upload earnings over the window (USD).", "summary", "total_bwu"),
    (
        "vastai_earnings_total_bwd",
        "Download earnings over the window (USD).",
        "summary",
        "total_bwd",
    ),
)

# name, help, per_machine field
PER_MACHINE_EARNINGS = (
    ("vastai_earnings_machine_gpu", "GPU earnings per machine over the window (USD).", "gpu_earn"),
    ("vastai_earnings_machine_stor", "Storage earnings per machine (USD).", "sto_earn"),
    ("vastai_earnings_machine_bwu", "Upload earnings per machine (USD).", "bwu_earn"),
    ("vastai_earnings_machine_bwd", "Download earnings per machine (USD).", "bwd_earn"),
)
