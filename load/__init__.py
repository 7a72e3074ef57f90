"""Load testing the Perf API: Locust scenarios, the rate-limit verdict and the benchmark."""
