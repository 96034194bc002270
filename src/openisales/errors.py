"""Result codes and the exceptions that carry them.

Every error the service raises is an :class:`OpenISalesError` carrying the wire
``result_code`` that the CC-iSales OpenAPI documents for it, plus the HTTP
status it travels with (200 for business outcomes, as Huawei documents; 401
for authentication failures; 413 for an oversized body).

Hierarchy::

    OpenISalesError
    ├── AuthError                (HTTP 401, 0200401)
    ├── RequestTooLarge          (HTTP 413, 0200413)
    ├── RequestTimeout           (HTTP 408, 0200408)
    ├── HeadersTooLarge          (HTTP 431, 0200431)
    ├── Unavailable              (HTTP 503, 0200503)
    ├── NoSuchPath               (HTTP 404, 0200404)
    ├── MethodNotAllowed         (HTTP 405, 0200405)
    ├── ParamError               (02000001..02000011 and 0200001: one bad field)
    ├── NotFound                 (0200007, 0200033, 04000004)
    ├── Conflict                 (0200005, 0200011, 0200016, 0200018, 0200019, 0200020, ...)
    └── StorageError             (0200006, 0200998, 0200999)

``CATALOGUE`` is the single source of the result codes; ``docs/result-codes.md``
is generated from it (``python -m openisales.errors``) and a test keeps the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResultCode:
    code: str
    meaning: str
    origin: str  # "huawei" (documented by Huawei) or "openisales" (our design)


_CODES = [
    ("0200000", "Success.", "huawei"),
    ("0200001", "Parameter error; resultDesc says which parameter and why.", "huawei"),
    ("0200002", "The campaign start time is earlier than 00:00 today.", "huawei"),
    ("0200003", "The tenant's quota of skill-queue campaigns is reached.", "huawei"),
    ("0200004", "The tenant's quota of IVR campaigns is reached.", "huawei"),
    (
        "0200005",
        "Duplicate campaign name (campaign APIs); parameter exception (queryBusinessResults: "
        "pageSize out of 1..50).",
        "huawei",
    ),
    ("0200006", "Database operation error.", "huawei"),
    (
        "0200007",
        "The campaign does not exist (most APIs); the number is already blocklisted "
        "(blocklist/add); parameter exception (queryBusinessResults: pageNum out of range).",
        "huawei",
    ),
    (
        "0200008",
        "beginTime and endTime must be given together (callresult, failcategorystatistics).",
        "huawei",
    ),
    (
        "0200009",
        "beginTime or endTime has a wrong format (callresult, failcategorystatistics).",
        "huawei",
    ),
    (
        "0200010",
        "beginTime is not earlier than endTime (callresult, failcategorystatistics).",
        "huawei",
    ),
    (
        "0200011",
        "The query range exceeds 30 days (callresult, failcategorystatistics); the campaign "
        "status does not "
        "allow the operation (resume; in openisales also pause and delete).",
        "huawei",
    ),
    ("0200016", "The campaign has already ended (modify).", "huawei"),
    ("0200017", "The skill queue ID does not exist.", "huawei"),
    ("0200018", "Duplicate numbers in the request.", "huawei"),
    ("0200019", "The campaign status does not allow adding call data.", "huawei"),
    ("0200020", "The campaign would hold more than 200,000 unfinished records.", "huawei"),
    ("0200022", "The interface is called too frequently.", "huawei"),
    ("0200024", "The request contains blocklisted numbers.", "huawei"),
    ("0200029", "The request exceeds the maximum number of records per call.", "huawei"),
    ("0200030", "The time format is incorrect.", "huawei"),
    ("0200033", "The outbound call data does not exist.", "huawei"),
    ("0200034", "The substatus does not match the business result.", "huawei"),
    ("0200999", "Failed to write back the business result.", "huawei"),
    (
        "0200998",
        "The database became unreachable while the write-back was written and still is: it may "
        "or may not have been applied; send it again (a repeated write-back changes nothing).",
        "openisales",
    ),
    ("02000001", "Empty parameter.", "huawei"),
    ("02000002", "The parameter contains invalid characters.", "huawei"),
    ("02000003", "The parameter length cannot exceed the maximum length.", "huawei"),
    ("02000004", "The parameter length cannot be less than the minimum length.", "huawei"),
    ("02000005", "The parameter length must be within the specified range.", "huawei"),
    ("02000006", "Incorrect parameter type.", "huawei"),
    ("02000007", "Incorrect parameter value.", "huawei"),
    ("02000008", "Parameter conversion error. Check the request parameters.", "huawei"),
    ("02000009", "Incorrect parameter combination. Check the request parameters.", "huawei"),
    ("02000010", "The hour and minute parameters must be set at the same time.", "huawei"),
    ("02000011", "The number of parameters cannot exceed the specified number.", "huawei"),
    ("04000004", "The reservation (appointment) does not exist.", "huawei"),
    (
        "0200401",
        "Authentication failed (HTTP 401); resultDesc says which check failed.",
        "openisales",
    ),
    ("0200413", "The request body exceeds the configured maximum size (HTTP 413).", "openisales"),
    (
        "0200408",
        "The request head or body did not arrive within the configured time (HTTP 408); "
        "the connection is closed.",
        "openisales",
    ),
    (
        "0200431",
        "The request head exceeds the configured size or number of header fields (HTTP 431); "
        "the connection is closed.",
        "openisales",
    ),
    (
        "0200503",
        "The server process has reached its connection limit (HTTP 503); retry later.",
        "openisales",
    ),
    (
        "0200404",
        "No operation at this path (HTTP 404); a path with a trailing slash is none.",
        "openisales",
    ),
    ("0200405", "The path has no operation for this HTTP method (HTTP 405).", "openisales"),
]

CATALOGUE: dict[str, ResultCode] = {c: ResultCode(c, m, o) for c, m, o in _CODES}

SUCCESS = "0200000"


class OpenISalesError(Exception):
    """Root of every error the service reports on the wire."""

    result_code: str = "0200001"
    http_status: int = 200

    def __init__(self, description: str, *, result_code: str | None = None) -> None:
        super().__init__(description)
        if result_code is not None:
            self.result_code = result_code
        if self.result_code not in CATALOGUE:  # pragma: no cover - programming error
            raise ValueError(f"unknown result code {self.result_code}")
        self.description = description


class AuthError(OpenISalesError):
    """The C2 signature check failed; always HTTP 401."""

    result_code = "0200401"
    http_status = 401


class RequestTooLarge(OpenISalesError):
    result_code = "0200413"
    http_status = 413


class RequestTimeout(OpenISalesError):
    """The request's body did not arrive in time (the server limits, docs/security.md)."""

    result_code = "0200408"
    http_status = 408


class HeadersTooLarge(OpenISalesError):
    result_code = "0200431"
    http_status = 431


class Unavailable(OpenISalesError):
    """The process serves as many connections as it may."""

    result_code = "0200503"
    http_status = 503


class NoSuchPath(OpenISalesError):
    result_code = "0200404"
    http_status = 404


class MethodNotAllowed(OpenISalesError):
    result_code = "0200405"
    http_status = 405


class ParamError(OpenISalesError):
    """One request parameter is invalid; ``field`` names it."""

    def __init__(self, result_code: str, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", result_code=result_code)
        self.field = field


class NotFound(OpenISalesError):
    result_code = "0200007"


class Conflict(OpenISalesError):
    result_code = "0200001"


class StorageError(OpenISalesError):
    """The database failed. ``uncertain``: the connection was lost (or the statement
    timed out) after a statement went out, so whether it committed is not known."""

    result_code = "0200006"

    def __init__(
        self, description: str, *, result_code: str | None = None, uncertain: bool = False
    ) -> None:
        super().__init__(description, result_code=result_code)
        self.uncertain = uncertain


def render_markdown() -> str:
    """The result-code table of ``docs/result-codes.md``."""
    lines = [
        "# Result codes",
        "",
        "Generated from `src/openisales/errors.py` by `python -m openisales.errors`;",
        "a test keeps this file equal to the module. Every response carries the code in",
        "`resultCode` and `returnCode`, and a description in `resultDesc` and `returnDesc`.",
        "Business outcomes travel with HTTP 200; `0200401` with HTTP 401; `0200413` with HTTP 413;",
        "the server's own limits (`docs/security.md`) answer `0200408`, `0200431` and `0200503`",
        "with HTTP 408, 431 and 503; an unknown path or method `0200404` or `0200405`",
        "with HTTP 404 or 405; an unexpected failure the operation's storage code with HTTP 500",
        "and `requestId`; `/readyz` without its database `0200006` with HTTP 503.",
        "",
        "Codes between `0200001` and `0200034` that Huawei does not document are not used.",
        "",
        "| Code | Meaning | Source |",
        "| --- | --- | --- |",
    ]
    for rc in CATALOGUE.values():
        source = "Huawei" if rc.origin == "huawei" else "openisales (our design)"
        lines.append(f"| `{rc.code}` | {rc.meaning} | {source} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(render_markdown())
