"""A full auto-mode run on an LND node leaves no macaroon in any log line or answer."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import pytest

from lnopt.config import default_config
from lnopt.model import Mode
from lnopt.service.optimizer import Optimizer
from lnopt.store import Store
from tests.secret_scan import assert_no_secret
from tests.standin_lnd.fixtures import LndSetup


@pytest.mark.timeout(300)
def test_a_full_run_logs_and_answers_no_macaroon(
    lnd: LndSetup, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    admin = lnd.standin.admin_macaroon()
    with caplog.at_level(logging.DEBUG):
        backend = lnd.backend(admin)  # over-privileged on purpose: its warning is logged too
        store = Store(tmp_path / "lnopt.sqlite")
        optimizer = Optimizer(backend, store, default_config(), mode=Mode.AUTO)
        optimizer.backfill()
        record = optimizer.run_once()
        answers = [
            repr(record),
            repr(optimizer.status()),
            repr(optimizer.history()),
            repr(backend.privilege_warnings()),
            repr(asdict(backend.health())),
        ]
    assert record.changes > 0
    sent = {bytes.fromhex(r.macaroon_hex) for r in lnd.standin.requests if r.macaroon_hex}
    assert len(sent) >= 1 and admin not in sent
    root_key = lnd.standin.macaroons.root_key(0)
    texts = [("log", caplog.text), *((f"answer {i}", a) for i, a in enumerate(answers))]
    assert_no_secret(texts, [admin, lnd.macaroon, root_key, *sent])
