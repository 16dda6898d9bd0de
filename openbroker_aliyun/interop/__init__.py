"""Bridges to other broker frameworks: ``openbrokerapi`` (``OpenBrokerAPIAdapter``)."""
