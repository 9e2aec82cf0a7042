"""Downloads against a local HTTP server: resume, verification, caps while unpacking.

Unpacking on its own (unsafe members, links): tests/ingest/test_unpack.py.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from moodrec.errors import ConfigError, InputDataError
from moodrec.ingest import download as download_module
from moodrec.ingest.download import (
    DatasetSource,
    DownloadConfig,
    DownloadError,
    download_dataset,
    load_download_config,
)
from moodrec.ingest.unpack import ArchiveLimitError, ArchiveLimits, UnsafeArchiveError, safe_unpack
from tests.ingest.archives import make_tar, make_zip, make_zip_deflated


class Server:
    """Serves ``files`` with Range support; paths in ``cut`` drop their first transfer."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.cut: set[str] = set()
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # http.server's method name
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                if rng and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.path in server.cut and start == 0:
                    server.cut.discard(self.path)
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def ranges(self, path: str) -> list[str | None]:
        return [r for p, r in self.requests if p == path]


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    s.thread.start()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


# big enough that the first, cut transfer leaves a real partial file
PAYLOAD = {
    "ds/log.tsv": random.Random(0).randbytes(200_000),
    "ds/profile.tsv": b"#id\tgender\n",
}


def config(server: Server, path: str, data: bytes, **kw: object) -> DownloadConfig:
    server.files[path] = data
    source = DatasetSource(
        url=server.url + path,
        sha256=kw.pop("sha256", hashlib.sha256(data).hexdigest()),  # type: ignore[arg-type]
        expected_files=tuple(kw.pop("expected", ("ds/log.tsv",))),  # type: ignore[arg-type]
    )
    return DownloadConfig(datasets={"demo": source}, progress=False, timeout_s=10, **kw)


def leftovers(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_download_verifies_unpacks_and_skips_when_present(server: Server, tmp_path: Path) -> None:
    data = make_tar(PAYLOAD)
    cfg = config(server, "/demo.tar.gz", data)
    res = download_dataset("demo", cfg, to=tmp_path)
    assert not res.skipped
    assert (tmp_path / "demo" / "ds" / "log.tsv").read_bytes() == PAYLOAD["ds/log.tsv"]
    assert res.sha256 == hashlib.sha256(data).hexdigest()
    n = len(server.requests)
    again = download_dataset("demo", cfg, to=tmp_path)
    assert again.skipped and len(server.requests) == n  # nothing fetched
    # a damaged unpacked file makes the data set invalid: unpacked again from the archive
    (tmp_path / "demo" / "ds" / "log.tsv").write_bytes(b"x")
    third = download_dataset("demo", cfg, to=tmp_path)
    assert not third.skipped and len(server.requests) == n
    assert (tmp_path / "demo" / "ds" / "log.tsv").read_bytes() == PAYLOAD["ds/log.tsv"]


def test_connection_cut_halfway_resumes_and_verifies(server: Server, tmp_path: Path) -> None:
    data = make_tar(PAYLOAD)
    cfg = config(server, "/cut.tar.gz", data)
    server.cut.add("/cut.tar.gz")
    res = download_dataset("demo", cfg, to=tmp_path)
    ranges = server.ranges("/cut.tar.gz")
    assert ranges[0] is None and ranges[1] is not None
    assert int(ranges[1][6:].split("-")[0]) > 0  # resumed, not restarted
    assert res.sha256 == hashlib.sha256(data).hexdigest()
    assert (tmp_path / "demo" / "ds" / "log.tsv").read_bytes() == PAYLOAD["ds/log.tsv"]


def test_interrupted_run_leaves_part_and_next_run_resumes(server: Server, tmp_path: Path) -> None:
    data = make_tar(PAYLOAD)
    cfg = config(server, "/once.tar.gz", data, max_attempts=1)
    server.cut.add("/once.tar.gz")
    with pytest.raises(DownloadError, match="gave up after 1 attempts") as err:
        download_dataset("demo", cfg, to=tmp_path)
    assert err.value.retryable
    part = tmp_path / "archives" / "once.tar.gz.part"
    assert 0 < part.stat().st_size < len(data)
    download_dataset("demo", cfg, to=tmp_path)
    assert server.ranges("/once.tar.gz")[-1] == f"bytes={len(data) // 2}-"
    assert not part.exists()
    assert (tmp_path / "demo" / "ds" / "profile.tsv").read_bytes() == PAYLOAD["ds/profile.tsv"]


def test_corrupted_archive_is_refused_and_nothing_is_left(server: Server, tmp_path: Path) -> None:
    good = make_tar(PAYLOAD)
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    cfg = config(server, "/bad.tar.gz", bytes(bad), sha256=hashlib.sha256(good).hexdigest())
    with pytest.raises(DownloadError, match="does not match"):
        download_dataset("demo", cfg, to=tmp_path)
    assert leftovers(tmp_path) == []
    # without a checksum the broken gzip stream itself is refused at unpacking
    cfg = config(server, "/bad2.tar.gz", good[: len(good) // 2], sha256="", allow_unverified=True)
    with pytest.raises(InputDataError, match="corrupt or truncated"):
        download_dataset("demo", cfg, to=tmp_path)
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "demo").exists()


def test_path_traversal_member_is_refused(server: Server, tmp_path: Path) -> None:
    data = make_tar({"ds/log.tsv": b"ok", "../../x": b"evil"})
    cfg = config(server, "/evil.tar.gz", data)
    with pytest.raises(UnsafeArchiveError, match=r"'\.\./\.\./x'"):
        download_dataset("demo", cfg, to=tmp_path)
    assert leftovers(tmp_path) == []
    assert not (tmp_path.parent / "x").exists()


def test_missing_checksum_is_refused_before_any_request(server: Server, tmp_path: Path) -> None:
    cfg = config(server, "/x.tar.gz", make_tar(PAYLOAD), sha256="")
    with pytest.raises(ConfigError, match="cannot be verified"):
        download_dataset("demo", cfg, to=tmp_path)
    assert server.requests == []
    with pytest.raises(ConfigError, match="unknown data set"):
        download_dataset("nope", cfg, to=tmp_path)


def test_http_errors_say_whether_retrying_helps(server: Server, tmp_path: Path) -> None:
    cfg = config(server, "/there.tar.gz", b"")
    src = cfg.datasets["demo"].model_copy(update={"url": server.url + "/missing.tar.gz"})
    cfg = cfg.model_copy(update={"datasets": {"demo": src}})
    with pytest.raises(DownloadError, match="HTTP 404") as err:
        download_dataset("demo", cfg, to=tmp_path)
    assert not err.value.retryable


def test_default_sources_have_no_unverified_checksums(repo_root: Path) -> None:
    cfg = DownloadConfig()
    assert set(cfg.datasets) == {"lastfm-1k", "hetrec-lastfm"}
    # the official archive checksums could not be verified offline: none is invented
    assert all(s.sha256 is None and s.md5 is None for s in cfg.datasets.values())
    from_yaml = load_download_config(repo_root / "config" / "datasets" / "downloads.yaml")
    for name, src in cfg.datasets.items():
        got = from_yaml.datasets[name]
        assert (got.url, got.expected_files, got.file_md5) == (
            src.url,
            src.expected_files,
            src.file_md5,
        )
        assert got.sha256 is None and got.md5 is None


def test_unpacked_file_md5_is_verified(server: Server, tmp_path: Path) -> None:
    data = make_tar(PAYLOAD)
    good = hashlib.md5(PAYLOAD["ds/profile.tsv"]).hexdigest()
    cfg = config(server, "/m.tar.gz", data, sha256="")
    src = cfg.datasets["demo"].model_copy(update={"file_md5": {"ds/profile.tsv": "0" * 32}})
    bad_cfg = cfg.model_copy(update={"datasets": {"demo": src}})
    with pytest.raises(DownloadError, match=r"member ds/profile\.tsv has md5"):
        download_dataset("demo", bad_cfg, to=tmp_path)
    assert leftovers(tmp_path) == []
    src = src.model_copy(update={"file_md5": {"ds/profile.tsv": good}})
    ok = download_dataset("demo", cfg.model_copy(update={"datasets": {"demo": src}}), to=tmp_path)
    assert ok.files["ds/profile.tsv"] == len(PAYLOAD["ds/profile.tsv"])


#: 4 MiB of zeros: a ~4 KB deflated member, ratio ~1000:1 (a small archive bomb)
BOMB = {"ds/log.tsv": b"\0" * (4 << 20)}


@pytest.mark.parametrize("make", [make_tar, make_zip_deflated])
def test_archive_over_the_ratio_cap_is_refused_while_streaming(
    server: Server, tmp_path: Path, make
) -> None:
    data = make(BOMB)
    cfg = config(server, "/bomb.bin", data, max_unpack_ratio=20)
    with pytest.raises(ArchiveLimitError, match="over 20:1") as err:
        download_dataset("demo", cfg, to=tmp_path)
    # stopped at the cap: the message says how far it got, well short of the 4 MiB member
    assert "archive bomb" in str(err.value)
    assert leftovers(tmp_path) == []  # nothing unpacked, the bad archive is not kept
    assert not (tmp_path / "demo").exists()
    # the same archive under the default caps unpacks (ratio cap: 100:1 above 1 MiB)
    ok = config(server, "/bomb.bin", data, max_unpack_ratio=2000)
    assert download_dataset("demo", ok, to=tmp_path).files == {"ds/log.tsv": 4 << 20}


def test_archive_over_the_size_cap_is_refused(server: Server, tmp_path: Path) -> None:
    data = make_tar(PAYLOAD)  # 200 KB of random bytes: no ratio, but more than the cap
    cfg = config(server, "/big.tar.gz", data, max_unpacked_bytes=100_000)
    with pytest.raises(ArchiveLimitError, match="more than 100,000 bytes"):
        download_dataset("demo", cfg, to=tmp_path)
    assert leftovers(tmp_path) == []
    many = tmp_path / "many.zip"
    many.write_bytes(make_zip({f"f{i}": b"" for i in range(5)}))
    with pytest.raises(ArchiveLimitError, match="more than 3 members"):
        safe_unpack(many, tmp_path / "out", ArchiveLimits(max_members=3))
    assert not (tmp_path / "out").exists()


def test_file_md5_is_checked_before_anything_is_unpacked(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpacked: list[Path] = []
    real_unpack = download_module.safe_unpack

    def spy(archive: Path, target: Path, *args: object) -> dict[str, int]:
        unpacked.append(target)
        return real_unpack(archive, target, *args)

    monkeypatch.setattr(download_module, "safe_unpack", spy)
    data = make_zip_deflated({"ds/log.tsv": b"\0" * (2 << 20), "ds/profile.tsv": b"p"})
    cfg = config(server, "/md5.zip", data, sha256="", max_unpack_ratio=5000)
    src = cfg.datasets["demo"].model_copy(update={"file_md5": {"./ds/log.tsv": "0" * 32}})
    with pytest.raises(DownloadError, match="nothing was unpacked"):
        download_dataset("demo", cfg.model_copy(update={"datasets": {"demo": src}}), to=tmp_path)
    assert unpacked == []
    assert leftovers(tmp_path) == []
    good = hashlib.md5(b"\0" * (2 << 20)).hexdigest()
    src = src.model_copy(update={"file_md5": {"./ds/log.tsv": good}})
    ok = download_dataset("demo", cfg.model_copy(update={"datasets": {"demo": src}}), to=tmp_path)
    assert unpacked == [tmp_path / "demo"] and ok.files["ds/log.tsv"] == 2 << 20
