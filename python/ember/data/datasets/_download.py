"""Finding dataset folders and downloading files with checksum verification."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.request
from collections.abc import Sequence

__all__ = ["check_md5", "download_url", "extract_archive", "search_roots"]


def search_roots(root, system_dir: str | None) -> list[str]:
    """The folders to look in, in order: root, then $EMBER_DATA, then system_dir."""
    roots = []
    if root is not None:
        roots.append(os.path.expanduser(os.fspath(root)))
    env = os.environ.get("EMBER_DATA")
    if env:
        roots.append(os.path.expanduser(env))
    if system_dir:
        roots.append(system_dir)
    return roots


def md5sum(path: str, chunk: int = 1 << 20) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def check_md5(path: str, md5: str | None) -> bool:
    """True when the file exists and (if md5 is given) its MD5 matches."""
    return os.path.isfile(path) and (md5 is None or md5sum(path) == md5)


def download_url(urls: Sequence[str], folder: str, filename: str, md5: str | None) -> str:
    """Downloads `filename` into `folder` from the first mirror that works.

    Args:
        urls: full URLs to try in order.
        folder: destination folder (created if needed).
        filename: the local file name.
        md5: the expected MD5 hex digest, or None to skip the check.

    Returns:
        The path of the verified file (an existing verified copy is kept as is).
    """
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, filename)
    if check_md5(path, md5):
        return path
    errors = []
    for url in urls:
        tmp = path + ".part"
        try:
            with urllib.request.urlopen(url, timeout=60) as resp, open(tmp, "wb") as out:
                shutil.copyfileobj(resp, out)
        except OSError as exc:
            errors.append(f"{url}: {exc}")
            if os.path.exists(tmp):
                os.remove(tmp)
            continue
        if not check_md5(tmp, md5):
            os.remove(tmp)
            errors.append(f"{url}: MD5 checksum mismatch (expected {md5})")
            continue
        os.replace(tmp, path)
        return path
    raise RuntimeError(f"could not download {filename}:\n  " + "\n  ".join(errors))


def extract_archive(path: str, folder: str) -> None:
    """Extracts a .tar.gz archive into folder, refusing members that escape it."""
    with tarfile.open(path, "r:gz") as tar:
        tar.extractall(folder, filter="data")
