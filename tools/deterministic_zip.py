"""Zip a directory so that the same files always give the same bytes (sorted entries, fixed
timestamps and modes): CDK hashes a zip asset by content, so the Lambda layer's asset hash,
and with it `cdk diff`, is the same on every machine that builds it from the same pins.

    python -m tools.deterministic_zip SOURCE_DIR TARGET.zip
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry


def zip_directory(source: Path, target: Path) -> int:
    files = sorted(p for p in source.rglob("*") if p.is_file())
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in files:
            entry = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=EPOCH)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, path.read_bytes())
    partial.replace(target)
    return len(files)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    count = zip_directory(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{sys.argv[2]}: {count} files")
