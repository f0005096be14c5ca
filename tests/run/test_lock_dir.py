"""A lock directory that is not a directory is a clear configuration error, not a traceback.

Before, BENCHCTL_LOCK_DIR naming a file (or a path under one) ended `benchctl run` in FileExistsError or
NotADirectoryError from mkdir.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchctl.cli import main
from benchctl.config import ConfigError
from benchctl.paths import ROOT
from benchctl.run.lock import BenchLock, LockDirError


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "locks"
    path.write_text("not a directory\n")
    return path


@pytest.mark.parametrize("under", ["", "deeper/still"])
def test_a_file_in_place_of_the_lock_directory(a_file: Path, under: str) -> None:
    lock_dir = a_file / under if under else a_file

    with pytest.raises(LockDirError) as caught:
        BenchLock("sim", lock_dir=lock_dir).acquire()

    assert isinstance(caught.value, ConfigError)
    assert str(caught.value) == (f"{lock_dir}: lock directory: {a_file} is a file, not a directory; set "
                                 f"BENCHCTL_LOCK_DIR to a directory benchctl may write")
    assert a_file.read_text() == "not a directory\n"


def test_run_says_so_in_one_line(a_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BENCHCTL_LOCK_DIR", str(a_file))

    # a bench with physical gear: it is locked (a bench all simulated in the run takes no lock)
    status = main(["run", "--bench", str(ROOT / "bench_configs" / "modbus-lab.yaml"), "--runs",
                   str(tmp_path / "runs"), "001"])

    out = capsys.readouterr().out
    assert status == 2
    assert out.splitlines() == [f"config error: {a_file}: lock directory: {a_file} is a file, not a directory; "
                                f"set BENCHCTL_LOCK_DIR to a directory benchctl may write"]
    assert not (tmp_path / "runs").exists()
