"""Tools for developers and tests that are not part of any running service (the claim-file generator).

No service imports this package; it may import the services' pure reading cores and reference data.
"""
