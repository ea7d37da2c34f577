# Panel Desk in a container. The install step is the README's own command, which CI runs, and hadolint lints this
# file in the tests; the image itself has not been built where this was written (no Docker daemon there).
FROM python:3.11.14-slim-bookworm

# The database lives in the /data volume: the image's code is read-only to the bot's user.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/panel-desk.sqlite3 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080

RUN useradd --system --user-group --uid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin panel-desk \
    && install -d -o panel-desk -g panel-desk -m 0750 /data

WORKDIR /app
COPY requirements.txt ./
RUN python3 -m venv .venv && .venv/bin/pip install -r requirements.txt
COPY . .

# By number, so Kubernetes' runAsNonRoot can check it; the name is panel-desk.
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080

# Liveness only (/readyz would restart the bot for a panel's outage); urllib, since the image has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/app/.venv/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['HTTP_PORT']}/healthz\", timeout=4)"]

# The bot drains interactions in flight for up to 10 s on SIGTERM: give `docker stop` more (--stop-timeout 20).
STOPSIGNAL SIGTERM
CMD ["/app/.venv/bin/python", "bot.py"]
