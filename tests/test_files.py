"""The I/O layer: atomic writes (no temp file left, the umask's mode), readers' one-line errors."""

from __future__ import annotations

import os
import stat

import pytest

from ashbench.errors import ConfigError, InputError
from ashbench.files import check_output_path, read_json, read_toml, write_atomic


def test_write_atomic_replaces_the_file_with_the_umask_mode(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    old_mask = os.umask(0o027)
    try:
        write_atomic(target, "new")
    finally:
        os.umask(old_mask)
    assert target.read_text() == "new"
    # 0o666 & ~0o027 = 0o640 (rw-r-----), not mkstemp's 0o600
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_failing_writer_leaves_the_old_file_and_no_temp_file(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def half_then_fail(handle):
        handle.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(target, half_then_fail)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


@pytest.mark.parametrize("where,message", [("folder", "output path is a folder"),
                                           ("missing/out.txt", "output folder does not exist")])
def test_check_output_path_refuses_in_one_line(tmp_path, where, message):
    (tmp_path / "folder").mkdir()
    with pytest.raises(InputError, match=message):
        check_output_path(tmp_path / where)


def test_readers_raise_the_callers_error_in_one_line(tmp_path):
    (tmp_path / "bad.toml").write_text("a = [")
    (tmp_path / "bad.json").write_text("{nope")
    (tmp_path / "latin1.toml").write_bytes(b"name = '\xe9'")
    cases = [(read_toml, "bad.toml", "malformed spec TOML"), (read_json, "bad.json", "is not JSON"),
             (read_toml, "latin1.toml", "is not UTF-8 text"), (read_toml, "none.toml", "spec not found")]
    for reader, name, message in cases:
        with pytest.raises(ConfigError, match=message) as info:
            reader(tmp_path / name, ConfigError, "spec")
        assert "\n" not in str(info.value)
