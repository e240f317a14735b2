"""Run one nameko service in this process: `ytcs serve finance`; `ytcs serve claims-intake` runs the claims
intake worker (services/claims/worker.py), the claims service's intake entrypoints in a process of their own.

Eventlet must patch the standard library before anything else imports it, and psycopg2 must be made
cooperative, or one slow query would freeze every green thread of the service.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import importlib  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from psycogreen.eventlet import patch_psycopg  # noqa: E402

patch_psycopg()

from nameko.runners import ServiceRunner  # noqa: E402

from services.common import config, logs, metrics  # noqa: E402

log = logging.getLogger("ytcs.runner")


def service_class(process: str) -> type:
    """The nameko class a process role runs: `services.<service>.service.Service`, or the intake worker."""
    if process == config.CLAIMS_INTAKE:
        return importlib.import_module("services.claims.worker").Worker
    return importlib.import_module(f"services.{process}.service").Service


def port_variable(process: str) -> str:
    return f"{process.upper().replace('-', '_')}_METRICS_PORT"


def serve(service: str) -> int:
    """`service` is a process role of config.PROCESSES; the intake worker runs with the claims configuration."""
    if service not in config.PROCESSES:
        log.error("unknown service %r: one of %s", service, ", ".join(config.PROCESSES))
        return 2
    logs.configure(service)
    runner = ServiceRunner(config.nameko_config(service))
    runner.add_service(service_class(service))

    stopping: list[int] = []
    grace = float(os.environ.get("YTCS_STOP_SECONDS", "20"))

    def hard_stop() -> None:
        # nameko's graceful stop waits for its consumers, which wait for the broker: when the broker went away
        # at the same moment (ytcs run killed, its private node stopping too) it would wait forever. What is not
        # acknowledged is redelivered, and the outbox is in the database: nothing is lost by leaving now.
        log.warning("%s did not stop within %.0f s; leaving without waiting", service, grace)
        logging.shutdown()
        os._exit(0)

    def shutdown(signum: int, _frame: object) -> None:
        if stopping:  # a second signal (Ctrl-C and then the supervisor's TERM): nameko's stop is not re-entrant
            return
        stopping.append(signum)
        log.info("stopping %s (signal %s)", service, signum)
        eventlet.spawn_n(runner.stop)
        eventlet.spawn_after(grace, hard_stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    port = config.metrics_port(service)
    try:
        metrics.serve(port)
    except OSError as exc:  # most often another copy still holds the port: one line, not a traceback
        log.error(
            "%s: cannot serve metrics on port %s (%s); set %s",
            service,
            port,
            exc.strerror,
            port_variable(service),
        )
        return 1
    runner.start()
    log.info("%s started, metrics on :%s", service, config.metrics_port(service))
    try:
        runner.wait()
    except Exception:
        log.exception("%s crashed", service)
        runner.kill()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))
