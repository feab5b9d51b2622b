"""``python -m convproof`` is the ``convproof`` command."""

from .cli import main

raise SystemExit(main())
