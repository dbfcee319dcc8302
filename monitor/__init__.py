"""monitor: media monitoring for The China-Russia Report."""

__version__ = "0.1.0"
