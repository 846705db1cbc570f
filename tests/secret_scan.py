"""A scan for secrets in what lnopt wrote: logs, answers, files."""

from __future__ import annotations

import base64
from collections.abc import Iterable


def encodings(secret: bytes | str) -> dict[str, str]:
    """The forms a secret may take in text: as given, hex, base64 and urlsafe base64."""
    raw = secret.encode() if isinstance(secret, str) else secret
    forms = {
        "hex": raw.hex(),
        "base64": base64.b64encode(raw).decode().rstrip("="),
        "urlsafe base64": base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }
    if isinstance(secret, str):
        forms["as given"] = secret
    else:
        forms["as given"] = raw.decode("utf-8", errors="ignore")
    return {name: form for name, form in forms.items() if len(form) >= 8}


def assert_no_secret(texts: Iterable[tuple[str, str]], secrets: Iterable[bytes | str]) -> None:
    """Fail naming where any secret appears in any text; ``texts`` pairs a place with its text."""
    places = list(texts)
    found = [
        f"{form_name} of secret #{index} in {place}"
        for index, secret in enumerate(secrets)
        for form_name, form in encodings(secret).items()
        for place, text in places
        if form in text or form.upper() in text
    ]
    assert not found, "secrets leaked: " + "; ".join(found)
