"""Buzz server: Domo's Buzz Integration API and BuzzChat v1, on one delivery engine."""

__version__ = "0.1.0"
