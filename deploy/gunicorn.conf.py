"""gunicorn configuration of the riskrules API.

Use: `gunicorn -c deploy/gunicorn.conf.py 'api:create_app()'`.

The values and hooks live in api/gunicornconf.py (shared with `riskrules serve`); override any
of them with RISKRULES_BIND, RISKRULES_WORKERS, RISKRULES_THREADS, RISKRULES_WORKER_TIMEOUT,
RISKRULES_MAX_REQUESTS, RISKRULES_ACCESS_LOG ("-" for stdout). Migrations are not applied by
this path: run `riskrules db upgrade` first (the container entrypoint does).
"""

from api.gunicornconf import settings

globals().update(settings())
