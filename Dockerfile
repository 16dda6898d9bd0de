# The broker image: `docker build -t openbroker-aliyun:0.1.0 .`
#
# Two stages: the first installs the project (`pip install .`) into a virtualenv, the
# second copies only that virtualenv, so the image holds no source tree, no pip cache and
# no build tools. The same image runs every broker of the project; the command picks one
# (`rds-broker` by default, `redis-broker` for the Redis broker).
#
# Settings come from the environment at run time (see docs/configuration.md); nothing
# secret is baked in. Kubernetes manifests that run this image: deploy/kubernetes/.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/broker
WORKDIR /src
COPY pyproject.toml setup.cfg README.md ./
COPY openbroker_aliyun ./openbroker_aliyun
COPY brokers ./brokers
RUN /opt/broker/bin/pip install .

FROM python:3.11-slim
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
CMD ["rds-broker"]
