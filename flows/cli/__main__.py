"""``python -m kgweave.flows.cli`` runs the ``kgweave`` command line."""

from kgweave.flows.cli import main

raise SystemExit(main())
