# The broker image: `docker build -t openbroker-aliyun:0.1.0 .`
#
# Two stages: the first installs the project (`pip install -c constraints.txt .`) into a
# virtualenv, the second copies only that virtualenv, so the image holds no source tree, no
# pip cache and no build tools. The same image runs every broker of the project; the
# command picks one (`rds-broker` by default, `redis-broker` for the Redis broker).
#
# Settings come from the environment at run time (see docs/configuration.md); nothing
# secret is baked in. Kubernetes manifests that run this image: deploy/kubernetes/.
#
# Reproducible: both stages use the same exact Python patch release and Debian release
# (the virtualenv copied between them only runs on the Python it was made with), and the
# dependencies are installed at the versions constraints.txt pins. To move to a newer
# Python, change both FROM lines together; to pin the digest too, append
# `@sha256:...` as `docker buildx imagetools inspect python:<tag>` prints it.

FROM python:3.11.17-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/broker
WORKDIR /src
COPY pyproject.toml setup.cfg README.md LICENSE constraints.txt ./
COPY openbroker_aliyun ./openbroker_aliyun
COPY brokers ./brokers
RUN /opt/broker/bin/pip install -c constraints.txt '.[aliyun]'

FROM python:3.11.17-slim-bookworm
# A numeric user, so that Kubernetes' runAsNonRoot can verify it without /etc/passwd.
RUN groupadd --system --gid 10001 broker \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/broker --create-home \
       --shell /usr/sbin/nologin broker
COPY --from=build /opt/broker /opt/broker
ENV PATH=/opt/broker/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=8080
# The working directory is the only writable place the image offers: the default SQLite
# state file of a single-container trial lands here. Replicated deployments set
# BROKER_STATE_URL to PostgreSQL or MySQL instead.
WORKDIR /var/lib/broker
USER 10001:10001
EXPOSE 8080
# For `docker run` and Compose (Kubernetes ignores it and uses the Deployment's probes).
# The slim image has no curl: the broker's own Python asks /health/live on $PORT over
# loopback (the broker listens on every address unless BROKER_HOST narrows it), bypassing
# any HTTP_PROXY set for the broker's outbound calls. Exit 0 means healthy; a refused
# connection, a time-out or any status but 200 means unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; opener = urllib.request.build_opener(urllib.request.ProxyHandler({})); url = 'http://127.0.0.1:' + os.environ.get('PORT', '8080') + '/health/live'; sys.exit(opener.open(url, timeout=4).status != 200)"]
CMD ["rds-broker"]
