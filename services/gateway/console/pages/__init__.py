"""The console's pages, one module per audience; importing them registers them (app.page)."""

from . import session  # noqa: F401  (log in and out, language, account, the start page)
from . import proposals  # noqa: F401  (a proposal's page and its commands)
