"""IPMI Monitor interop: find it, import its servers and keys, and export ours for it to read.

`ipmi_side` is the one module meant to be vendored by IPMI Monitor (stdlib and PyYAML only).
"""
