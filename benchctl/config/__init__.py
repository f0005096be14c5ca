"""Loading and validating YAML files (bench configs, scenarios) with errors that point at file and line."""

from .errors import ConfigError
from .marked import MarkedDoc, load_marked

__all__ = ["ConfigError", "MarkedDoc", "load_marked"]
