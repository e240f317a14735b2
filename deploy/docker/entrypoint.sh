#!/bin/sh
# Container entry point: one image, one role per container (docker-compose.yml, deploy/k8s/).
set -eu

role="${1:-gateway}"
case "$role" in
  gateway)
    # gunicorn workers each write their metrics to files here and /metrics adds them up (prometheus-client
    # multiprocess mode). Files left by an earlier container would add old counts: start empty.
    PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/ytcs-metrics}"
    export PROMETHEUS_MULTIPROC_DIR
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -delete
    if [ -z "${YTCS_SECRET_KEY:-}" ]; then
      # Every worker of this container must sign sessions with the same key. Several gateway replicas
      # need one shared key: set YTCS_SECRET_KEY from a secret.
      YTCS_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_hex(32))')"
      export YTCS_SECRET_KEY
    fi
    exec python -m gunicorn -c python:services.gateway.gunicorn_conf
    ;;
  finance|claims|investment)
    # A nameko service is one process (eventlet): its metrics are served by itself, never multiprocess.
    unset PROMETHEUS_MULTIPROC_DIR
    exec python -m services.common.runner "$role"
    ;;
  claims-intake)
    # The claims intake worker (services/claims/worker.py): a nameko process like the services, on its own
    # metrics port (CLAIMS_INTAKE_METRICS_PORT, 9104); it lowers its own priority (YTCS_CLAIMS_INTAKE_NICE).
    unset PROMETHEUS_MULTIPROC_DIR
    exec python -m services.common.runner claims-intake
    ;;
  migrate)
    # Migrations of every service's database and the reference data; idempotent, run once per release.
    exec ytcs migrate
    ;;
  *)
    exec "$@"
    ;;
esac
