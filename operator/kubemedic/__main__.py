"""``python -m kubemedic``: the same as the ``kubemedic`` command."""

from kubemedic.cli import main

raise SystemExit(main())
