"""research-agent: an autonomous research radar that reads arXiv against your research tracks."""

__version__ = "0.1.0"
