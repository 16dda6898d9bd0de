"""The test kit: a platform-like OSB client, servers on loopback, pytest fixtures.

``client`` (``OSBClient``), ``servers`` (``serve_wsgi``, ``broker_server``), ``vcap``
(``build_vcap_services``), ``servicebinding`` (servicebinding.io projections),
``profiles`` (Cloud Foundry and Kubernetes callers) and ``pytest_plugin`` (fixtures
registered through the ``pytest11`` entry point). It knows no cloud and needs no extra:
the client of the Alibaba Cloud emulator's admin API is
``openbroker_aliyun.emulator.admin_client.EmulatorAdmin``. Nothing is imported here, so
that loading the pytest plugin stays cheap.
"""
