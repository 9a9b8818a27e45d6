"""Run the benchmark suite from a checkout: the same as ``xieshang bench``.

    .venv/bin/python bench/run.py [--quick] [--json] [--sections appends,reads,...] [--backends sqlite]

The suite itself lives in the installed package (xieshang/benchmarks/) so that ``xieshang bench``
works wherever xieshang is installed; see docs/performance.md for what it measures.
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from xieshang.benchmarks.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
