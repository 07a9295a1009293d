# dockbell: the Slack-facing app (and, later, a worker) in one image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed, unprivileged user; it reaches the Docker socket through the socket's group,
# which docker-compose.yml adds with group_add (DOCKER_GID in .env).
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin dockbell

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN pip install .
COPY config ./config

USER dockbell
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status == 200 else 1)"

ENTRYPOINT ["dockbell"]
CMD ["serve", "--port", "3000"]
