import sys

from stress.surfaces.cli import main

sys.exit(main())
