"""csbench: the performance observatory of Collection Store."""

__version__ = "0.1.0"
