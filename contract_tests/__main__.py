"""`python -m contract_tests ...`: the same as `perf-contract ...`."""

from contract_tests.cli import main

main()
