"""What every Alibaba Cloud broker shares: settings, the command line (with ``--demo``),
the batched describe cache, naming and tag conventions, and the lost-resource lookup.

Product specifics (RDS, R-kvstore) stay in their own packages.
"""
