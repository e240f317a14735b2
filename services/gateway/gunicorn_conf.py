"""gunicorn settings for the gateway (checked in, like the rest of the deployment)."""

import os

from prometheus_client import multiprocess

bind = os.environ.get("YTCS_BIND", f"127.0.0.1:{os.environ.get('YTCS_PORT', '8000')}")
# gunicorn >= 26 has no eventlet worker; threads give concurrency, one RPC proxy per thread.
worker_class = "gthread"
workers = int(os.environ.get("YTCS_WEB_WORKERS", "2"))
threads = int(os.environ.get("YTCS_WEB_THREADS", "8"))
timeout = 300  # a claim upload of hundreds of MB streams for a while
graceful_timeout = 20
keepalive = 5
accesslog = None
errorlog = "-"
loglevel = os.environ.get("YTCS_LOG_LEVEL", "info").lower()
wsgi_app = "services.gateway.app:create_app()"
# gunicorn 27's control socket (reload, scale workers) is unused here; left on, every master on a host binds the
# same ~/.gunicorn/gunicorn.ctl, so one stack's master would answer, or remove, another's.
control_socket_disable = True


def post_fork(server, worker):  # noqa: ANN001, ARG001
    from services.common import logs

    logs.configure("gateway")


def child_exit(server, worker):  # noqa: ANN001, ARG001
    # Multiprocess metrics: a dead worker's live gauges must stop counting.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
