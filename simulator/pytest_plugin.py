"""Where the `perf_sim` entry point pointed before the plugins moved to `perf_image_sim_plugins` (whose docstring says
why): an environment installed earlier, such as an editable install whose metadata was not rebuilt, still loads the
plugin by this name until `pip install` runs again. Nothing else loads it; new code imports the plugin itself."""

from perf_image_sim_plugins.perf_sim import (
    perf_sim,
    perf_sim_server,
    pytest_addoption,
    pytest_configure,
    pytest_pyfunc_call,
    pytest_runtest_makereport,
)

__all__ = ["perf_sim", "perf_sim_server", "pytest_addoption", "pytest_configure", "pytest_pyfunc_call", "pytest_runtest_makereport"]
