"""The fleet inventory: the one source of truth for servers, keys, host keys and users."""
