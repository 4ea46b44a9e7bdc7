"""Scheduled work claimed once per period: the SLA ladder."""
