"""The benchmarks (docs/performance.md), beside the product: ``python -m bench`` from a checkout,
or ``xieshang bench`` where xieshang is installed from one (``pip install -e '.[bench]'``).

Every figure is measured beside a reference taken in the same run, because the machines it runs
on are shared and noisy (±30% run to run): the ``eventsourcing`` library's recorders on the same
database, the raw driver, a no-op nameko service, or the same measurement at a smaller size.

Sections: ``appends`` (1), ``reads`` (2, with 6 on the same store), ``rebuild`` (3, SQLite and
PostgreSQL), ``stack`` (4, with two proposals instances against one on PostgreSQL), ``growth``
(5), ``verify`` (6, on the rebuild's largest store; one process and ``jobs=2``), ``notify`` (7,
upstream events to inbox notices and to mails at a local SMTP server). ``cli.run_suite``
runs them and returns one JSON-able dict, with a one-line summary per section; ``cli.bench`` is
the command. Each section runs under a watchdog (``common.watchdog``): one that hangs fails with
every thread's stack instead, and the next section runs.

Two experiments run on their own: ``log_ordering.py`` (ADR 0003) and ``append_rate.py`` (appends
with and without eventlet). The suite measures the kernel as it is: it holds no copy of kernel code.
"""
