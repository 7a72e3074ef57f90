"""Watching the simulator: Prometheus metrics and the dashboard, both fed by the request journal's records."""
