"""The executable spec of the Perf Image Generation API: the single source of truth.

Every price, limit, size, error type and header name lives here; the simulator, the contract
suite, the load verdicts and the README tables all read from this package.
"""

DISTRIBUTION = "perf-image-sim"
"""The installed distribution that ships spec/, simulator/, contract_tests/, load/ and perf_image_sim_plugins/ (its
version is what `perf-sim --version` and `perf-contract --version` give)."""
