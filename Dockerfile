# The monitor daemon. Offline build (no registry inside the build): scripts/docker-build.sh
# downloads wheels on the host first. A base image that cannot be pulled can be made locally
# with scripts/base-image.sh (debootstrap) and passed as BASE_IMAGE.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# "wheels": install only from the wheelhouse in the build context; empty: from the registry.
ARG WHEELHOUSE=""
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    MONITOR_STORAGE=/app/storage \
    MONITOR_HTTP_ADDR=0.0.0.0:8080

WORKDIR /app
COPY . /tmp/src
RUN python3 -m venv /opt/venv \
 && if [ -n "$WHEELHOUSE" ]; then \
      /opt/venv/bin/pip install --no-cache-dir --no-index --find-links "/tmp/src/$WHEELHOUSE" monitor; \
    else \
      /opt/venv/bin/pip install --no-cache-dir /tmp/src; \
    fi \
 && cp /tmp/src/sources.yaml /tmp/src/topics.yaml /app/ \
 && rm -rf /tmp/src \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin monitor \
 && mkdir -p /app/storage && chown monitor /app/storage

USER monitor
VOLUME ["/app/storage"]
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["monitor", "healthcheck"]
CMD ["monitor", "run"]
