"""Benchmarks that print figures and never assert timings; run each as `python -m bench.<name>` from the repo root."""
