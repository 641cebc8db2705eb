"""The platform benchmark harness behind ``make bench`` (``benches/run.py``).

Modules:

* ``config``: every knob (environment variables ``BENCH_*`` and command-line flags);
* ``stack``: the processes under test (bench database, broker, gunicorn, Celery worker);
* ``settings`` / ``urls``: production settings plus the floor view and a bench task queue;
* ``seed``: the bench data (agencies, services, citizens, applications, tokens), idempotent;
* ``load``: wrk (closed loop and paced) or the Python load generator;
* ``tenancy``: agency creation, one-schema migrate, ``migrate_agencies`` over N agencies;
* ``celery_bench`` / ``tasks``: Celery jobs per second, end to end;
* ``report``: the targets, the Markdown table and ``benches/results/latest.json``.
"""
