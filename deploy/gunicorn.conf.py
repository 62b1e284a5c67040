"""gunicorn configuration of the riskrules API.

Use: `gunicorn -c deploy/gunicorn.conf.py 'api:create_app()'`.

The values and hooks live in api/gunicornconf.py (shared with `riskrules serve`); override any
of them with RISKRULES_BIND, RISKRULES_WORKERS, RISKRULES_THREADS, RISKRULES_WORKER_TIMEOUT,
RISKRULES_MAX_REQUESTS, RISKRULES_ACCESS_LOG ("-" for stdout), RISKRULES_HEADER_TIMEOUT and
RISKRULES_BODY_TIMEOUT (api/worker.py), RISKRULES_WORKER_CLASS. The `on_starting` hook makes
SIGHUP check the pack and keys first (api/guard.py), in this path too. Migrations are not applied by
this path: run `riskrules db upgrade` first (the container entrypoint does).
"""

from api.gunicornconf import settings

globals().update(settings())
