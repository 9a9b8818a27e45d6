"""The benchmark suite behind ``xieshang bench`` (docs/performance.md).

Every figure is measured beside a reference taken in the same run, because the machines it runs
on are shared and noisy (±30% run to run): the ``eventsourcing`` library's recorders on the same
database, the raw driver, a no-op nameko service, or the same measurement at a smaller size.

Sections: ``appends`` (1), ``reads`` (2, with 6 on the same store), ``rebuild`` (3), ``stack``
(4), ``growth`` (5), ``verify`` (6, on the rebuild's largest store). ``run_suite`` runs them and
returns one JSON-able dict; ``cli.bench`` is the command.

It lives in the installed package (not in ``bench/``) so that ``xieshang bench`` works wherever
xieshang is installed; ``bench/`` keeps thin scripts that call it.
"""
