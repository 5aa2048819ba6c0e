"""``python -m ner``: the ``ner`` command."""

import sys

from ner.cli import main

sys.exit(main())
