"""The test kit: a platform-like OSB client, servers on loopback, pytest fixtures.

``client`` (``OSBClient``), ``servers`` (``serve_wsgi``, ``broker_server``), ``vcap``
(``build_vcap_services``), ``profiles`` (Cloud Foundry and Kubernetes callers),
``emulator_admin`` (``EmulatorAdmin``: calls, instances and faults of the Alibaba Cloud
emulator) and ``pytest_plugin`` (fixtures registered through the ``pytest11`` entry
point). Nothing is imported here, so that loading the pytest plugin stays cheap.
"""
