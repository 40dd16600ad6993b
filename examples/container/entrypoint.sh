#!/bin/sh
# Container entrypoint: check the database first (waiting for it to come up), then replace this
# shell with the real command, which then runs as PID 1 and gets the container's signals.
#
#   COPY --from=pg-preflight:0.1.0 /usr/local/bin/pg-preflight /usr/local/bin/pg-preflight
#   COPY entrypoint.sh /usr/local/bin/pg-preflight-entrypoint
#   ENTRYPOINT ["/usr/local/bin/pg-preflight-entrypoint", "/start.py"]
#
# in a Dockerfile FROM Synapse's image: the first line takes the single executable from the image
# this repository's Dockerfile builds (npm ci && npm run build:exe && docker build -t
# pg-preflight:0.1.0 .), so the Synapse image needs no Node.js.
#
# A failing check stops the container (exit 1, the report in `docker logs`); a database that does
# not come up within PG_PREFLIGHT_WAIT seconds exits 3. Settings, all optional:
#   SYNAPSE_CONFIG_PATH  homeserver.yaml (default /data/homeserver.yaml, as in Synapse's image)
#   PG_PREFLIGHT_WAIT    seconds to wait for the database (default 60)
#   PG_PREFLIGHT         the command to run (default pg-preflight), e.g.
#                        "node /opt/pg-preflight/dist/cli.cjs"
set -eu

if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]  (the command to run once the database checks pass)" >&2
  exit 2
fi

: "${SYNAPSE_CONFIG_PATH:=/data/homeserver.yaml}"
: "${PG_PREFLIGHT_WAIT:=60}"
: "${PG_PREFLIGHT:=pg-preflight}"

# PG_PREFLIGHT is split into words on purpose: it may be a command with arguments.
# shellcheck disable=SC2086
$PG_PREFLIGHT check --wait "$PG_PREFLIGHT_WAIT" --config "$SYNAPSE_CONFIG_PATH"

exec "$@"
