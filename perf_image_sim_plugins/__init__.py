"""perf-image-sim's two pytest plugins (entry points `pytest11`): `perf_sim` (the fixture) and `perf_contract` (the
contract suite's options).

pytest imports both at the start of every session in an environment where the package is installed, before the
project's rootdir, conftest.py files or `pythonpath` count. So they live under this distinctive name and import
nothing from `spec`, `simulator` or `contract_tests` as they load: those generic top-level names are often a user's own
(a `spec.py`, an rspec-style `spec/` or Pact-style `contract_tests/` test package), and importing ours first made the
user's resolve to ours, or failed every session of theirs. They import the product only when a test asks for the
fixture or a session is a contract run.
"""
