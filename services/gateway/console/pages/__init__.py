"""The console's pages, one module per audience; importing them registers them (app.page)."""

from . import session  # noqa: F401  (log in and out, language, account, the start page)
from . import proposals  # noqa: F401  (a proposal's page and its commands)
from . import staff  # noqa: F401  (the worklist, bulk assignment, statistics, roster, coverage)
from . import opinions  # noqa: F401  (opinion reports 社情民意: desk, report, submit, units, leaders)
from . import members  # noqa: F401  (members' own cases, submission, duty; units' inbox; leaders)
from . import public  # noqa: F401  (the public's pages, auditors', everyone's notifications)
from . import deliberation  # noqa: F401  (consultations 协商议事 and supervision groups 民主监督组)
