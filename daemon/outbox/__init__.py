"""Queueing outgoing mail in the caller's transaction: compose, sign, deliverability."""
