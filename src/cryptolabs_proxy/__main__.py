"""`python -m cryptolabs_proxy` is the `cryptolabs-proxy` command."""

from cryptolabs_proxy.cli import main

main()
