"""research-agent: an autonomous research radar that reads arXiv against your research tracks."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("research-agent")  # the one version string: pyproject.toml
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
