"""Recorded nanoStream Cloud live streams on Wagtail pages."""

__version__ = "0.1.0"
