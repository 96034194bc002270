"""``openisales import`` on a distributed schema: COPY into the distributed ``t_isl_data``.

The CLI tier's import tests run here as they are (imported), on the module's
Citus database.
"""

from __future__ import annotations

from tests.cli.test_import import *  # noqa: F403
