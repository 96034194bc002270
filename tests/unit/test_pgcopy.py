"""The COPY's ``called_nos`` is the JSON that ``store.calldata.insert`` writes."""

from __future__ import annotations

import json

from hypothesis import given, strategies as st

from openisales.domain.calldata import Number
from openisales.importing.pgcopy import called_json

_number = st.text(alphabet="0123456789*#", min_size=1, max_size=24)
_type = st.none() | st.text(max_size=8)


@given(st.lists(st.tuples(_number, _type), min_size=1, max_size=20))
def test_called_json_is_json_dumps(numbers: list[tuple[str, str | None]]) -> None:
    wire = [Number(n, t).wire() for n, t in numbers]  # as store.calldata.insert writes it
    assert called_json(numbers) == json.dumps(wire, separators=(",", ":"))
