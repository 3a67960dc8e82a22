"""`python -m facelab.cli`: the same as the `facelab` command."""
import sys

from . import main

sys.exit(main())
