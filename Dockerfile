# dockbell: one image for `dockbell serve` and `dockbell worker` (docker-compose.yml runs both).
#   docker build -t dockbell .
#   docker build --build-arg BASE_IMAGE=my-mirror/python:3.11-slim -t dockbell .
# Plain Dockerfile syntax only, so the legacy builder (Debian's docker.io, Compose v1) builds it too.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DOCKBELL_HEALTH_PORT=3000

# A fixed, unprivileged user. The worker reaches the Docker socket through the socket's group,
# which docker-compose.yml adds with group_add (DOCKER_GID in .env); serve needs no group.
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin dockbell

WORKDIR /app

# Dependencies first, in a layer of their own: it depends only on these two files, so editing
# the code does not reinstall them. constraints.txt pins every one (scripts/lock-constraints);
# the build backend is installed too, so that the code layer below needs no network.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb')); print('\n'.join(p['project']['dependencies'] + p['build-system']['requires']))" > /tmp/requirements.txt \
    && python -m pip install -r /tmp/requirements.txt -c constraints.txt \
    && rm /tmp/requirements.txt

# The code: dockbell itself only, no dependency resolution; pip check fails the build when
# constraints.txt and pyproject.toml disagree.
COPY README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN python -m pip install --no-deps --no-build-isolation . \
    && python -m pip check \
    && rm -rf /app/bot /app/handlers
COPY config ./config
# The worker writes archives too large for Slack here (transfer.export_dir); compose mounts a
# volume on it, which takes this directory's owner.
RUN mkdir -p /var/lib/dockbell/exports && chown 10001:10001 /var/lib/dockbell/exports

USER 10001:10001
EXPOSE 3000
# Liveness (/livez: the process and its loop are up), not readiness (/healthz): a Slack or Redis
# outage must not get a working bot restarted. The worker serves /livez on its own --port, so
# docker-compose.yml sets DOCKBELL_HEALTH_PORT for it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; url = 'http://127.0.0.1:%s/livez' % os.environ.get('DOCKBELL_HEALTH_PORT', '3000'); sys.exit(0 if urllib.request.urlopen(url, timeout=4).status == 200 else 1)"]

ENTRYPOINT ["dockbell"]
CMD ["serve", "--port", "3000"]
