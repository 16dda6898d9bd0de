"""What every Alibaba Cloud broker shares, so that a product's package holds only its own.

Settings and the command line with ``--demo`` (``settings``, ``cli``); names, tags and
tokens, and the lost-instance lookup (``naming``, ``lookup``); the batched describe
cache (``describe_cache``); Alibaba's wire format, typed (``wire``), and the base of a
product's API calls (``cloud_api``); progress records stored in ``details``
(``progress``); the base of a product's plug-in with the one dispatch of every operation
(``broker``) and of what its steps work with (``runtime``, ``cloud_kind``); steps as
tables of resumable stages (``stages``, ``failures``) and the steps that are the same for
every product (``deletion``, ``binding``, ``update``); catalogs with typed plan properties and
the parameter fields every product offers (``catalog``, ``parameters``).

Product specifics (RDS, R-kvstore) stay in their own packages; docs/architecture.md
has the map.
"""
