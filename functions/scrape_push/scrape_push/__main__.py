"""``python -m scrape_push``: the configuration tool (see ``cli.py``)."""

import sys

from .cli import main

sys.exit(main())
