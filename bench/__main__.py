"""``python -m bench`` = ``xieshang bench``."""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from .cli import main  # noqa: E402

if __name__ == "__main__":
    main()
