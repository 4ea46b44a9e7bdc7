"""Delivering queued outgoing mail: transports, retries, leases."""
