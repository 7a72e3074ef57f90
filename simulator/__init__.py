"""A deterministic offline twin of the Perf Image Generation API."""
