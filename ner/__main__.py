import sys

from ner.cli import main

sys.exit(main())
