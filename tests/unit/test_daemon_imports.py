"""The daemon loads what a rare path needs only on that path (issue 17: RSS under 100 MB).

`prometheus_client` (2 MB) only with `[metrics] listen`, charset-normalizer (2.5 MB) and
the ~30 codec modules detection may answer only when a mail's text needs detecting.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from daemon.app.monitor import Unserved, observer_for
from daemon.config import load_config
from daemon.parse.charsets import decode_text

PROJECT = Path(__file__).resolve().parents[2]
RARE = ("prometheus_client", "charset_normalizer", "encodings.koi8_r", "encodings.big5")


def _loaded_after(code: str) -> dict[str, bool]:
    """Which of RARE a fresh interpreter holds after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {RARE!r}}}))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    loaded: dict[str, bool] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def test_the_daemon_and_its_pipeline_import_none_of_the_rare_paths() -> None:
    loaded = _loaded_after("import daemon.app.service, daemon.commands.run, daemon.tickets.processing")
    assert loaded == dict.fromkeys(RARE, False)


def test_a_mail_that_needs_detecting_loads_the_detector_then() -> None:
    # KOI8-R Cyrillic without a label: neither UTF-8 nor a hint reads it.
    code = (
        "from daemon.parse.charsets import decode_text\n"
        "text = 'Здравствуйте, у меня не работает приложение банка уже третий день подряд.'\n"
        "assert decode_text(text.encode('koi8_r')).text == text"
    )
    loaded = _loaded_after(code)
    assert loaded["charset_normalizer"] and loaded["encodings.koi8_r"]
    assert not loaded["prometheus_client"]


def test_detection_still_answers_in_this_process() -> None:
    text = "Здравствуйте, у меня не работает приложение банка уже третий день подряд."
    decoded = decode_text(text.encode("koi8_r"))
    assert (decoded.text, decoded.charset, decoded.label_used) == (text, "koi8-r", False)


def test_metrics_are_counted_only_when_served(tmp_path: Path) -> None:
    path = tmp_path / "caredesk.toml"
    path.write_text("")
    unserved = observer_for(load_config(path, environ={}))
    assert isinstance(unserved, Unserved)
    unserved.observe_poll(Counter(fetched=3), 0.5, "imap://care@127.0.0.1/INBOX")  # and nothing happens

    path.write_text('[metrics]\nlisten = "127.0.0.1:9464"\n')
    served = observer_for(load_config(path, environ={}))
    from daemon.app.metrics import Metrics

    assert isinstance(served, Metrics)
    served.observe_poll(Counter(fetched=3), 0.5, "imap://care@127.0.0.1/INBOX")
    assert served.registry.get_sample_value("caredesk_mails_fetched_total", {"folder": "intake"}) == 3
