"""``python -m actionmqa``: the same command line as the ``actionmqa`` script."""

import sys

from actionmqa.cli import main

sys.exit(main())
