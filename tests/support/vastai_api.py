"""A stand-in for the Vast.ai API (v0), replaying answers of the documented shape per API key.

GET /api/v0/users/current/, /api/v0/machines/ and /api/v0/users/{id}/machine-earnings/ answer
as the real API does for two accounts (KEY_MAIN, KEY_SPARE). Standard library only: tests run it
in-process (`FakeVast()`, on 127.0.0.1) and inside a container on a test's own Docker network
(`python3 vastai_api.py PORT`).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEY_MAIN = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
KEY_SPARE = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
USERS = {KEY_MAIN: 101, KEY_SPARE: 202}


def machine(machine_id: int, hostname: str) -> dict:
    return {
        "id": machine_id,
        "machine_id": machine_id,
        "hostname": hostname,
        "gpu_name": "RTX 4090",
        "num_gpus": 4,
        "gpu_occupancy": "D I x x",
        "listed": True,
        "verification": "verified",
        "reliability2": 0.9971,
        "timeout": 0,
        "total_flops": 330.4,
        "inet_up": 912.5,
        "inet_down": 935.2,
        "disk_space": 3500,
        "max_disk_space": 3500,
        "alloc_disk_space": 800,
        "avail_disk_space": 2700,
        "earn_hour": 0.83,
        "earn_day": 19.92,
        "current_rentals_running": 2,
        "current_rentals_running_on_demand": 1,
        "current_rentals_resident": 0,
        "current_rentals_on_demand": 1,
        "listed_gpu_cost": 0.35,
        "min_bid_price": 0.2,
        "error_description": "",
    }


ANSWERS = {
    101: {
        "user": {"id": 101, "username": "host-main", "balance": 1234.56, "credit": 7.5},
        "machines": {"machines": [machine(5001, "rig-a"), machine(5002, "rig-b")]},
        "earnings": {
            "summary": {
                "total_gpu": 512.25,
                "total_stor": 12.5,
                "total_bwu": 1.25,
                "total_bwd": 2.0,
            },
            "current": {"balance": 1234.56, "service_fee": 3.5, "total": 1231.06, "credit": 7.5},
            "per_machine": [
                {
                    "machine_id": 5001,
                    "gpu_earn": 300.0,
                    "sto_earn": 6.0,
                    "bwu_earn": 1.0,
                    "bwd_earn": 1.0,
                },
                {
                    "machine_id": 5002,
                    "gpu_earn": 212.25,
                    "sto_earn": 6.5,
                    "bwu_earn": 0.25,
                    "bwd_earn": 1.0,
                },
            ],
            "per_day": [
                {"day": 20000, "gpu_earn": 17.1, "sto_earn": 0.4, "bwu_earn": 0.0, "bwd_earn": 0.1}
            ],
        },
    },
    202: {
        "user": {"id": 202, "username": "host-spare", "balance": 10.0, "credit": 0},
        "machines": {"machines": [machine(6001, "rig-c")]},
        "earnings": {
            "summary": {"total_gpu": 1.0},
            "current": {"balance": 10.0},
            "per_machine": [],
        },
    },
}


class FakeVast(ThreadingHTTPServer):
    """Replays ANSWERS per API key; `modes[key]` makes it fail: 500, 401, slow, garbage."""

    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _VastHandler)
        self.modes = {KEY_MAIN: "ok", KEY_SPARE: "ok"}
        self.request_lines: list[str] = []
        self.authorizations: list[str] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _VastHandler(BaseHTTPRequestHandler):
    server: FakeVast

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.request_lines.append(self.requestline)
            self.server.authorizations.append(self.headers.get("Authorization", ""))
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        mode = self.server.modes.get(key)
        if mode is None or mode == "401":
            self._reply(401, b'{"error": "invalid api key"}')
        elif mode == "500":
            self._reply(500, b'{"error": "server error"}')
        elif mode == "slow":
            time.sleep(2.5)
            self._reply(200, b"{}")
        elif mode == "garbage":
            self._reply(200, b"<html>maintenance</html>")
        else:
            self._answer(USERS[key])

    def _answer(self, user_id: int) -> None:
        path = self.path.split("?", 1)[0]
        routes = {
            "/api/v0/users/current/": "user",
            "/api/v0/machines/": "machines",
            f"/api/v0/users/{user_id}/machine-earnings/": "earnings",
        }
        if path not in routes:
            self._reply(404, b'{"error": "not found"}')
            return
        self._reply(200, json.dumps(ANSWERS[user_id][routes[path]]).encode())

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main(argv: list[str]) -> int:
    """Serve on every address of this (container's) network namespace until killed."""
    server = FakeVast("0.0.0.0", int(argv[1]))
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
