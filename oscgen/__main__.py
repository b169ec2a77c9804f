import sys

from oscgen.cli import main

sys.exit(main())
