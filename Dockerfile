# SIP OKE Antar: one image for every process (api, worker, beat, migrate, sandbox-provider).
# The command picks the process: `docker run IMAGE worker`. Settings come from SIPOKE_*.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 sipoke \
    && useradd --system --uid 10001 --gid sipoke --home-dir /app --shell /usr/sbin/nologin sipoke

# pg_dump/pg_restore for `sipoke backup`, `sipoke restore` and the nightly backup. pg_dump
# refuses a server newer than itself, so the client is the major version of the postgres image
# in docker-compose.yml (keep the two in step), from the PostgreSQL project's apt repository.
ARG PG_CLIENT_MAJOR=16
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates postgresql-common \
    && /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y \
    && apt-get install -y --no-install-recommends "postgresql-client-${PG_CLIENT_MAJOR}" \
    && rm -rf /var/lib/apt/lists/*

# Install the package itself (not editable): the image holds no source tree to drift from.
COPY . /tmp/src
RUN pip install /tmp/src && rm -rf /tmp/src

WORKDIR /app
RUN mkdir -p /app/var/uploads && chown -R sipoke:sipoke /app
USER sipoke

ENV SIPOKE_VAR_DIR=/app/var \
    SIPOKE_HOST=0.0.0.0 \
    SIPOKE_PORT=8000
EXPOSE 8000

ENTRYPOINT ["sipoke"]
CMD ["api"]
