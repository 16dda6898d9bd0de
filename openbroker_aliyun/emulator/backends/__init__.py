"""Real resources behind emulated instances: SQL servers and redis-server children."""
