"""The executable spec of the Perf Image Generation API: the single source of truth.

Every price, limit, size, error type and header name lives here; the simulator, the contract
suite, the load verdicts and the README tables all read from this package.
"""
