import sys

from execution.cli import main

sys.exit(main())
