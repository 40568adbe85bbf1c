"""Overnight risk batch: data ingestion, Monte Carlo risk calculation and report generation."""

__version__ = "1.0.0"
