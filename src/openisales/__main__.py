"""``python -m openisales``: the command line (:mod:`openisales.cli`)."""

from __future__ import annotations

from openisales.cli import main

if __name__ == "__main__":
    main()
