"""``python -m ashbench``: the same as the ``ashbench`` command."""

from ashbench.cli import main

raise SystemExit(main())
