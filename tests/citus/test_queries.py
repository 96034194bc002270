"""Campaigns, call data, call results and statistics on a distributed schema.

The API tier's tests run here as they are (imported), on the module's Citus
database.
"""

from __future__ import annotations

from tests.api.test_calldata import *  # noqa: F403
from tests.api.test_callresult import *  # noqa: F403
from tests.api.test_campaigns import *  # noqa: F403
from tests.api.test_statistics import *  # noqa: F403
