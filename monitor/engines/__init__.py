"""Engines run checks on a schedule: ``local`` (APScheduler, in-process) for now."""
