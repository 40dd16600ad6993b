# pg-preflight as a container image: the single executable (npm run build:exe) on Debian 12 slim,
# which has the glibc it needs, and nothing else of ours. Build from a checkout:
#
#   npm ci && npm run build:exe
#   docker build -t pg-preflight:0.1.0 .
#   docker run --rm --read-only pg-preflight:0.1.0 check --dsn postgresql://synapse@db/synapse
#
# The image writes nothing (run it with a read-only root file system) and runs as a user of its
# own, not root. The base is pinned to a Debian point release, never to a moving tag.
FROM debian:12.11-slim

RUN useradd --system --uid 10001 --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin pg-preflight

COPY --chmod=0555 dist/exe/pg-preflight-linux-x64 /usr/local/bin/pg-preflight

USER 10001:10001
WORKDIR /
ENV HOME=/nonexistent
ENTRYPOINT ["pg-preflight"]
CMD ["--help"]
