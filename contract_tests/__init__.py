"""A black-box contract suite for any implementation of the Perf Image Generation API.

Every rule is read from `spec/` (never from the server under test). Run it with `perf-contract --base-url URL
--key KEY` or `pytest --pyargs contract_tests --perf-base-url URL --perf-key KEY`.
"""
