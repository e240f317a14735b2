"""The shared kernel: money, periods, units, message contracts, outbox/inbox, database, metrics, config.

Nothing here knows a service's business rules; every service imports from here, never from each other.
"""
