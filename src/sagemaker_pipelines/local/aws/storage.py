"""S3 access for jobs running inside the local endpoint.

Jobs read and write the server's *own* S3, so they talk to moto's in-process S3 backend directly instead of
making HTTP calls back to the server: no credentials, no port to know, and the job writes land in the account
that created the job (the SageMaker backend's account), exactly where the client will look for them.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import time
from pathlib import Path
from typing import Any


class StorageError(Exception):
    """An S3 problem a job reports as its FailureReason (missing bucket, no objects under a prefix...)."""


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``("bucket", "key")``; anything else is a plain StorageError."""
    if not uri.startswith("s3://"):
        raise StorageError(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise StorageError(f"S3 URI without a bucket: {uri!r}")
    return bucket, key


def join_s3(base: str, *parts: str) -> str:
    """Join S3 URI parts with single slashes (output paths often end with '/')."""
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts if p)])


class S3Store:
    """The moto S3 backend of one account, seen as files."""

    def __init__(self, account_id: str, partition: str = "aws") -> None:
        self.account_id = account_id
        self.partition = partition

    def _backend(self) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[self.account_id][self.partition]

    def _bucket(self, name: str) -> Any:
        try:
            return self._backend().get_bucket(name)
        except Exception as exc:  # moto's MissingBucket
            raise StorageError(f"S3 bucket '{name}' does not exist") from exc

    def _keys(self, bucket_name: str) -> list[tuple[str, Any]]:
        bucket = self._bucket(bucket_name)
        for _ in range(5):  # request threads may add keys while we iterate
            try:
                return [(k, v) for k, v in list(bucket.keys.items()) if hasattr(v, "value")]
            except RuntimeError:
                time.sleep(0.01)
        return [(k, v) for k, v in list(bucket.keys.items()) if hasattr(v, "value")]

    def list(self, uri: str) -> list[tuple[str, str]]:
        """Objects matching an S3Prefix URI as ``(key, relative path)``, the relative path being where a
        SageMaker container would see the file below the channel directory."""
        bucket, prefix = split_s3_uri(uri)
        found = []
        for key, _ in self._keys(bucket):
            if key.endswith("/") or not key.startswith(prefix):
                continue
            if key == prefix:
                rel = posixpath.basename(key)
            elif prefix == "" or prefix.endswith("/") or key[len(prefix)] == "/":
                rel = key[len(prefix) :].lstrip("/")
            else:  # "data/train" matched "data/train.csv": keep the name below the prefix's folder
                parent = posixpath.dirname(prefix)
                rel = key[len(parent) :].lstrip("/")
            found.append((key, rel))
        return sorted(found)

    def get(self, uri: str) -> bytes:
        bucket, key = split_s3_uri(uri)
        obj = dict(self._keys(bucket)).get(key)
        if obj is None:
            raise StorageError(f"S3 object {uri} does not exist")
        return obj.value

    def put(self, uri: str, data: bytes) -> None:
        bucket, key = split_s3_uri(uri)
        self._bucket(bucket)
        self._backend().put_object(bucket, key, data)

    def download(self, uri: str, dest: Path, *, exact_key: bool = False) -> list[Path]:
        """Copy every object under ``uri`` (or just the object, with ``exact_key``) into ``dest``."""
        dest.mkdir(parents=True, exist_ok=True)
        bucket, key = split_s3_uri(uri)
        matches = [(key, posixpath.basename(key))] if exact_key else self.list(uri)
        if not matches:
            raise StorageError(f'No S3 objects found under S3 URL "{uri}"')
        written = []
        for obj_key, rel in matches:
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.get(f"s3://{bucket}/{obj_key}"))
            written.append(target)
        return written

    def upload_dir(self, src: Path, uri: str) -> int:
        """Upload every file below ``src`` to ``uri/<relative path>``; returns the number of files."""
        count = 0
        for path in sorted(p for p in src.rglob("*") if p.is_file()):
            self.put(join_s3(uri, path.relative_to(src).as_posix()), path.read_bytes())
            count += 1
        return count


def tar_directory(src: Path) -> bytes:
    """A gzipped tarball of the directory's *contents* (members have no leading folder), as SageMaker
    packs /opt/ml/model into model.tar.gz."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(src.iterdir()):
            tar.add(path, arcname=path.name)
    return buffer.getvalue()


def extract_tarball(data: bytes, dest: Path) -> None:
    """Extract a (gzipped) tarball safely: members may not escape ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        tar.extractall(dest, filter="data")
