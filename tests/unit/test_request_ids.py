"""A request without a usable ``X-Request-Id`` gets a random one shaped like ``uuid4().hex``."""

from __future__ import annotations

import uuid

from openisales.api.endpoint import new_request_id, request_id


def test_a_new_request_id_is_a_version_4_uuid_in_hex() -> None:
    ids = [new_request_id() for _ in range(4000)]
    assert len(set(ids)) == len(ids)
    for rid in ids:
        parsed = uuid.UUID(hex=rid)
        assert parsed.hex == rid  # 32 lower-case hex digits, no dashes
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # the two random bits of the variant digit and the digits around the fixed ones vary
    assert {rid[16] for rid in ids} == set("89ab")
    assert {rid[12] for rid in ids} == {"4"}
    assert len({rid[13] for rid in ids}) == 16 and len({rid[15] for rid in ids}) == 16


def test_a_well_formed_request_id_is_kept_and_any_other_replaced() -> None:
    given = {"headers": [(b"x-request-id", b"caller.id_1")]}
    assert request_id(given) == "caller.id_1"
    bad = {"headers": [(b"x-request-id", b"has space")]}
    assert uuid.UUID(hex=request_id(bad)).version == 4
    assert request_id(bad) == request_id(bad)  # remembered in the scope
