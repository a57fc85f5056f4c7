"""``python -m revmentor.cli``: the same as the ``revmentor`` command."""

import sys

from revmentor.cli.main import main

sys.exit(main())
