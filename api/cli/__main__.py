"""``python -m api.cli``: the ``callqa`` command line (`api.cli.main`)."""

import sys

from api.cli.main import main

sys.exit(main())
