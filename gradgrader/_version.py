"""The version of gradgrader (layer 0: results and run folders record it)."""

__version__ = "0.1.0"
