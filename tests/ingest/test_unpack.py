"""Safe unpacking: unsafe members refused, links and folders, the member check as a property."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moodrec.ingest.unpack import UnsafeArchiveError, _member_problem, check_archive, safe_unpack
from tests.ingest.archives import make_tar, make_zip


@pytest.mark.parametrize(
    ("archive", "why"),
    [
        (make_zip({"ds/a": b"1", "../../x": b"2"}), "'..'"),
        (make_zip({"/etc/x": b"2"}), "absolute"),
        (make_tar({"ds/a": b"1"}, links={"ds/link": "../../outside"}), "outside the target"),
        (make_tar({}, links={"ds/link": "/etc/passwd"}), "absolute"),
    ],
)
def test_unsafe_members_are_refused(tmp_path: Path, archive: bytes, why: str) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(archive)
    with pytest.raises(UnsafeArchiveError, match=why):
        safe_unpack(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_zip_with_inner_symlink_and_folders_unpacks(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(make_zip({"hetrec/artists.dat": b"id\tname\n", "readme.txt": b"r"}))
    files = safe_unpack(path, tmp_path / "out")
    assert files == {"hetrec/artists.dat": 8, "readme.txt": 1}
    tar = tmp_path / "b.tar.gz"
    tar.write_bytes(make_tar({"ds/a": b"1"}, links={"ds/b": "a"}))
    assert check_archive(tar) == ["ds/a", "ds/b"]


_part = st.text(alphabet="abcXYZ019_-.", min_size=1, max_size=8).filter(
    lambda s: s not in (".", "..")
)


@given(st.lists(_part, min_size=1, max_size=5), st.integers(min_value=0, max_value=5))
def test_member_check_property(parts: list[str], at: int) -> None:
    """Relative paths without '..' are safe; inserting '..' anywhere makes them unsafe."""
    assert _member_problem("/".join(parts), None, False) is None
    evil = [*parts[: at % (len(parts) + 1)], "..", *parts[at % (len(parts) + 1) :]]
    assert _member_problem("/".join(evil), None, False) is not None
