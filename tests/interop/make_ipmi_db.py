"""Writes an IPMI Monitor database through ipmi-monitor's own models (run as a subprocess).

Usage: python make_ipmi_db.py DATA_DIR < spec.json, where the spec holds `keys`
([{name, key_content}]), `servers` ([{server_name, bmc_ip, server_ip, status?, reason?}]),
`configs` ([{bmc_ip, server_name, ssh_user, ssh_port, ssh_key_name?, ssh_key_id?, ssh_pass?,
ssh_key?}]) and `settings` ({key: value}). Prints the stored key ids as JSON.

ipmi-monitor initialises its database on import and registers an exit hook that reports to
its vendor; the process therefore ends with os._exit, and the caller gives it no network.
"""

import json
import os
import sys


def main() -> None:
    os.environ["DATA_DIR"] = sys.argv[1]
    os.environ.setdefault("SECRET_KEY", "test-only-secret-key-of-enough-length")
    spec = json.load(sys.stdin)
    from ipmi_monitor import app as ipmi

    with ipmi.app.app_context():
        key_ids = {}
        for key in spec.get("keys", []):
            fingerprint = ipmi.SSHKey.get_fingerprint(key["key_content"])
            row = ipmi.SSHKey(name=key["name"], key_content=key["key_content"],
                              fingerprint=fingerprint)  # fmt: skip
            ipmi.db.session.add(row)
            ipmi.db.session.flush()
            key_ids[key["name"]] = row.id
        for entry in spec.get("servers", []):
            server = ipmi.Server(bmc_ip=entry["bmc_ip"], server_name=entry["server_name"],
                                 server_ip=entry.get("server_ip"), notes="",
                                 status=entry.get("status", "active"))  # fmt: skip
            if entry.get("status") == "deprecated":
                server.deprecate(entry.get("reason"))
            ipmi.db.session.add(server)
        for entry in spec.get("configs", []):
            fields = dict(entry)
            key_name = fields.pop("ssh_key_name", None)
            if key_name:
                fields["ssh_key_id"] = key_ids[key_name]
            ipmi.db.session.add(ipmi.ServerConfig(**fields))
        for key, value in spec.get("settings", {}).items():
            value = key_ids.get(value, value) if key == "default_ssh_key_id" else value
            ipmi.SystemSettings.set(key, str(value))
        ipmi.db.session.commit()
    print(json.dumps(key_ids), flush=True)


if __name__ == "__main__":
    try:
        main()
    except BaseException as exc:  # report, then skip the vendor's exit hook all the same
        print(f"error: {exc!r}", file=sys.stderr, flush=True)
        os._exit(1)
    os._exit(0)
