"""What every fuzz harness here shares: the seed corpus and the command line.

A harness is a script (`python tests/hardening/fuzz/fuzz_<target>.py [libFuzzer
options] [corpus dirs]`) with one `check(data)` that raises AssertionError for
a finding; anything else it raises is a finding too. Seeds come from the shared
mail corpus (read-only, ../shared/corpus beside the repository), tests/data and the harness's own
examples; they are copied into a scratch corpus directory, because libFuzzer
writes what it finds into the first directory it is given.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SHARED_CORPUS = Path(
    os.environ.get("SIGRELAY_FUZZ_CORPUS")
    or os.environ.get("SIGRELAY_CORPUS")
    or ROOT.parent / "shared" / "corpus"
)
SEED_MAX = 64 * 1024  # octets: a larger seed only slows every mutation of it down


def instrumented(*ours: str) -> list[str]:
    """The modules atheris instruments: ours, and the stdlib's email package our
    parsers lean on, unless SIGRELAY_FUZZ_STDLIB=0 (2 to 3 times the
    executions per second, for the long runs made by hand)."""
    stdlib = ["email"] if os.environ.get("SIGRELAY_FUZZ_STDLIB", "1") != "0" else []
    return [*ours, *stdlib]


def _files(folder: Path, suffixes: tuple[str, ...]) -> Iterable[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in suffixes)


def mail_seeds() -> list[bytes]:
    """Messages of every shape: the shared corpus and the quoted replies of tests/data."""
    seeds = []
    for path in [*_files(SHARED_CORPUS, (".eml", ".msg")), *_files(ROOT / "tests/data", (".txt",))]:
        data = path.read_bytes()
        if len(data) <= SEED_MAX:
            seeds.append(data)
    return seeds


def write_seeds(corpus: Path, seeds: Iterable[bytes]) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    for number, seed in enumerate(seeds):
        (corpus / f"seed-{number:05d}").write_bytes(seed)


def main(check: Callable[[bytes], None], seeds: Callable[[], Iterable[bytes]]) -> None:
    """Run libFuzzer over `check`. `--seed-into DIR` only writes the seeds and exits."""
    import atheris

    args = sys.argv[1:]
    if args[:1] == ["--seed-into"]:
        write_seeds(Path(args[1]), seeds())
        return
    atheris.Setup([sys.argv[0], *args], check)
    atheris.Fuzz()
