"""Tools for developers and tests that are not part of any running service: the claim-file generator
(`ytcs claims generate`) and the writer of the claims rulebook page (docs/claims-validation.md).

No service imports this package; it may import the services' pure reading cores and reference data.
"""
