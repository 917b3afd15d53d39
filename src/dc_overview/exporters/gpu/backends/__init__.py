"""Ways to read the GPUs: NVML (default), `nvidia-smi -q -x` (fallback), BAR0 registers (extras)."""
