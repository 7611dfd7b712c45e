"""Issue 9, item 7: read-only copies can be audited.

An auditor receives a copy of a SQLite database on a read-only medium. ``audit verify``,
``history``, ``region show``, ``region list`` and ``report`` must work on it and give what
they give on the writable original; a writing command must fail with one sentence (exit 1)
and write nothing.

Root ignores file permissions, so the tests simulate the medium honestly: the real command
runs in a child process as the unprivileged user ``nobody`` on a copy in a directory that
user cannot write, and (when the container allows mounts) as root on a read-only bind mount
in a private mount namespace. The explicit read-only URL (``mode=ro``) is tested in process.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import site
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import Flow, Run, frozen_child, library, make_ready

REPO = Path(__file__).resolve().parents[1]
LEGACY_WORKFLOWS = REPO / "tests" / "data" / "workflows-2024"
NOW = "2024-11-20T10:00:00"

#: The reading commands an auditor runs, each compared with its output on the original.
READS: tuple[tuple[str, ...], ...] = (
    ("region", "show", "leiden", "--json"),
    ("region", "list", "--json"),
    ("history", "leiden", "--all", "--json"),
    ("audit", "verify", "--json"),
    ("audit", "verify"),
    ("report", "--format", "json"),
)
#: A writing command: on the read-only copy, exit 1 and one sentence.
WRITE = ("region", "create", "utrecht", "--name", "Utrecht", "--sector", "PO")
READ_ONLY_SENTENCE = "is read-only;"


@dataclass
class Child:
    """How to start ``python -m onderwijsflow`` as some user with some interpreter."""

    prefix: list[str]
    python: str
    pythonpath: list[str]

    def run(self, db_url: str, config: Path, args: Sequence[str], cwd: Path) -> Run:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("ONDERWIJSFLOW_") and key not in ("PYTHONPATH", "PYTHONHOME")}
        env.update({"ONDERWIJSFLOW_DB": db_url, "ONDERWIJSFLOW_CONFIG": str(config),
                    "ONDERWIJSFLOW_NOW": NOW, "ONDERWIJSFLOW_LANG": "en", "COLUMNS": "200",
                    "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(cwd),
                    "PYTHONPATH": os.pathsep.join(self.pythonpath)})
        env = frozen_child(env)
        done = subprocess.run([*self.prefix, self.python, "-m", "onderwijsflow", *args],
                              env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
        return Run(list(args), done.returncode, done.stdout, done.stderr)


# --- the database, its writable original and the shared (world-readable) place -----------------


@pytest.fixture(scope="module")
def shared() -> Iterator[Path]:
    """A directory every user can read and enter (pytest's tmp_path is 0700 under root)."""
    place = Path(tempfile.mkdtemp(prefix="onderwijsflow-readonly-"))
    place.chmod(0o755)
    try:
        yield place
    finally:
        for path in place.rglob("*"):  # the read-only copies' directories are 0555
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(place)


@pytest.fixture(scope="module")
def original(shared: Path) -> Path:
    """A WAL-mode database made by the application, closed cleanly (no -wal, no -shm)."""
    writable = shared / "original"
    writable.mkdir()
    writable.chmod(0o755)
    (shared / "config.yaml").write_text("simulated_clock: true\n")
    (shared / "config.yaml").chmod(0o644)
    db = writable / "app.db"
    config = shared / "config.yaml"
    with library(db, now="2024-10-01T09:00:00", config=config) as app:
        app.init()
        make_ready(app, "leiden")
        app.create_region("delft", name="Delft", sectors=["VO"])
        app.add_partner("delft", "Stichting Delfland", kind="schoolbestuur", sector="VO")
    with library(db, now="2024-10-15T09:00:00", config=config) as app:
        app.advance("leiden", "dien_aanvraag_in")
    mode = subprocess.run([sys.executable, "-c", "import sqlite3, sys; print(sqlite3.connect("
                           "sys.argv[1]).execute('PRAGMA journal_mode').fetchone()[0])", str(db)],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert mode == "wal"
    assert not _sides(db), "the application left its -wal/-shm behind after a clean close"
    db.chmod(0o644)
    return db


def _sides(db: Path) -> list[Path]:
    return [p for p in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")) if p.exists()]


def _read_only_copy(original: Path, shared: Path, name: str) -> Path:
    """A copy of `original` in a directory nobody but root can write (mode 0555)."""
    directory = shared / name
    directory.mkdir()
    copy = directory / "app.db"
    shutil.copy2(original, copy)
    copy.chmod(0o444)
    directory.chmod(0o555)
    return copy


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


# --- who runs the child: nobody, with an interpreter nobody can read ---------------------------


def _unprivileged_prefix() -> list[str]:
    if os.geteuid() != 0:
        return []  # already unprivileged: permissions hold for this user as they are
    if shutil.which("setpriv"):
        return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    if shutil.which("runuser"):
        return ["runuser", "-u", "nobody", "--"]
    pytest.skip("running as root and neither setpriv nor runuser exists to become 'nobody'")


def _imports_ok(prefix: list[str], python: str, pythonpath: list[str], cwd: Path) -> str:
    """'' when the interpreter, as that user, imports the CLI; else what went wrong."""
    done = subprocess.run([*prefix, python, "-c", "import onderwijsflow.cli"], cwd=cwd,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                               "PYTHONPATH": os.pathsep.join(pythonpath),
                               "PYTHONDONTWRITEBYTECODE": "1"},
                          capture_output=True, text=True, timeout=120)
    return "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["?"])[-1]


def _used_packages(original: Path, shared: Path) -> set[str]:
    """The top-level entries of site-packages that the commands of this test import, found by
    running them (as root, on a scratch copy) and looking at ``sys.modules``."""
    scratch = shared / "scratch"
    scratch.mkdir()
    shutil.copy2(original, scratch / "app.db")
    roots = [Path(p).resolve() for p in [*site.getsitepackages(), site.getusersitepackages()]]
    probe = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from onderwijsflow.cli import main\n"
        "for args in json.loads(sys.argv[1]):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "roots = [Path(p) for p in json.loads(sys.argv[2])]\n"
        "found = set()\n"
        "for module in list(sys.modules.values()):\n"
        "    file = getattr(module, '__file__', None)\n"
        "    if not file:\n"
        "        continue\n"
        "    path = Path(file).resolve()\n"
        "    for root in roots:\n"
        "        if path.is_relative_to(root):\n"
        "            found.add(str(root / path.relative_to(root).parts[0]))\n"
        "sys.__stdout__.write('\\n' + json.dumps(sorted(found)))\n"
    )
    env = frozen_child({**os.environ, "ONDERWIJSFLOW_DB": _url(scratch / "app.db"),
                        "ONDERWIJSFLOW_CONFIG": str(shared / "config.yaml"),
                        "ONDERWIJSFLOW_NOW": NOW, "PYTHONPATH": str(REPO)})
    commands = [list(args) for args in (*READS, WRITE)]
    done = subprocess.run([sys.executable, "-c", probe, json.dumps(commands),
                           json.dumps([str(r) for r in roots])], env=env, cwd=scratch,
                          capture_output=True, text=True, timeout=300, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _link_tree(source: Path, target: Path) -> None:
    """Hard links where possible (no space, and the user needs no access to `source`'s
    parents), copies otherwise; every directory 0755. The compiled ``__pycache__`` comes
    along: a hard link keeps the source's size and time, so the same Python version uses it."""
    def link(src: str, dst: str) -> object:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
        return dst

    if source.is_dir():
        shutil.copytree(source, target, copy_function=link, symlinks=False)
        for path in [target, *target.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
    else:
        link(str(source), str(target))


@pytest.fixture(scope="module")
def nobody(original: Path, shared: Path) -> Child:
    """``python -m onderwijsflow`` as the unprivileged user.

    The test's own interpreter is used when that user can run it; otherwise (e.g. under
    ``/root/.pyenv``, which nobody may enter) the system's interpreter of the same version,
    with the packages the commands import hard-linked into a directory nobody can read.
    """
    prefix = _unprivileged_prefix()
    pythonpath = [str(REPO)]
    problem = _imports_ok(prefix, sys.executable, pythonpath, shared)
    if not problem:
        return Child(prefix, sys.executable, pythonpath)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(version, path="/usr/local/bin:/usr/bin:/bin")
    if system is None:
        pytest.skip(f"the unprivileged user cannot run {sys.executable} ({problem}) and there "
                    f"is no system {version} to run instead")
    packages = shared / "site-packages"
    packages.mkdir()
    used = _used_packages(original, shared)
    for entry in used:
        _link_tree(Path(entry), packages / Path(entry).name)
    for dist in importlib.metadata.distributions():  # metadata some packages read at import
        metadata = next((f for f in (dist.files or []) if f.name == "METADATA"), None)
        if metadata is None:
            continue
        folder = Path(str(dist.locate_file(metadata))).parent
        tops = (dist.read_text("top_level.txt") or "").split()
        if folder.is_dir() and any(str(folder.parent / top) in used for top in tops):
            _link_tree(folder, packages / folder.name)
    pythonpath = [str(REPO), str(packages)]
    problem = _imports_ok(prefix, system, pythonpath, shared)
    if problem:
        pytest.skip(f"the unprivileged user cannot run the CLI with {system}: {problem}")
    return Child(prefix, system, pythonpath)


@pytest.fixture(scope="module")
def expected(original: Path, shared: Path) -> dict[tuple[str, ...], Run]:
    """Each reading command's output on the writable original."""
    as_root = Child([], sys.executable, [str(REPO)])
    before = _digest(original)
    runs = {args: as_root.run(_url(original), shared / "config.yaml", args, original.parent)
            for args in READS}
    for run in runs.values():
        assert run.code == 0 and not run.err, str(run)
    assert _digest(original) == before, "a reading command changed the original"
    return runs


def _assert_audit_works(child: Child, copy: Path, expected: dict[tuple[str, ...], Run],
                        config: Path, on_disk: Path | None = None) -> None:
    """`on_disk`: where this process sees the file (the copy, or the source of a mount)."""
    on_disk = on_disk or copy
    before = _digest(on_disk)
    for args, want in expected.items():
        run = child.run(_url(copy), config, args, copy.parent)
        assert run.code == 0, str(run)
        assert "Traceback" not in run.err and not run.err, str(run)
        assert run.out == want.out, f"{' '.join(args)} differs from the writable original:\n{run}"
    verify = json.loads(expected[("audit", "verify", "--json")].out)
    assert verify["ok"] is True
    show = json.loads(expected[("region", "show", "leiden", "--json")].out)
    assert show["slug"] == "leiden"
    history = json.loads(expected[("history", "leiden", "--all", "--json")].out)
    assert any(event["trigger"] == "dien_aanvraag_in" for event in history["events"])

    refused = child.run(_url(copy), config, WRITE, copy.parent)
    assert refused.code == 1, str(refused)
    sentence = refused.sentence()  # one line, "error: ...", no traceback
    assert READ_ONLY_SENTENCE in sentence and str(copy) in sentence, sentence
    assert _digest(on_disk) == before
    assert not _sides(on_disk)


# --- the tests ---------------------------------------------------------------------------------


def test_unprivileged_user_audits_a_copy_in_a_directory_it_cannot_write(
        nobody: Child, original: Path, shared: Path,
        expected: dict[tuple[str, ...], Run]) -> None:
    copy = _read_only_copy(original, shared, "copy-dir")
    # The failure this guards against: opening the file as it is today.
    probe = subprocess.run([*nobody.prefix, "test", "-w", str(copy.parent)])
    assert probe.returncode != 0, "the unprivileged user can write the copy's directory"
    _assert_audit_works(nobody, copy, expected, shared / "config.yaml")


def test_unprivileged_user_audits_a_read_only_file_in_a_writable_directory(
        nobody: Child, original: Path, shared: Path,
        expected: dict[tuple[str, ...], Run]) -> None:
    """The file cannot be written but the directory can: SQLite may create its -shm there,
    so the copy is opened read-only without `immutable`; nothing may change the file."""
    directory = shared / "copy-file"
    directory.mkdir()
    directory.chmod(0o777)
    copy = directory / "app.db"
    shutil.copy2(original, copy)
    copy.chmod(0o444)
    _assert_audit_works(nobody, copy, expected, shared / "config.yaml")


def _mount_prefix(source: Path, target: Path) -> list[str]:
    """A command prefix that runs the rest in a private mount namespace where `target` is a
    read-only bind mount of `source` (nothing outside the child sees the mount)."""
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("unshare or mount is not installed")
    prefix = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
              'mount --bind -o ro "$1" "$2" && shift 2 && exec "$@"', "sh",
              str(source), str(target)]
    probe = subprocess.run([*prefix, "sh", "-c", f'! touch "{target}/probe" 2>/dev/null'],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"this container does not allow a read-only bind mount: "
                    f"{probe.stderr.strip() or 'the mount was writable'}")
    return prefix


def test_root_audits_a_copy_on_a_read_only_mount(
        original: Path, shared: Path, expected: dict[tuple[str, ...], Run]) -> None:
    source = shared / "medium"
    source.mkdir()
    shutil.copy2(original, source / "app.db")
    target = shared / "mnt"
    target.mkdir()
    prefix = _mount_prefix(source, target)
    child = Child(prefix, sys.executable, [str(REPO)])
    _assert_audit_works(child, target / "app.db", expected, shared / "config.yaml",
                        on_disk=source / "app.db")
    assert not list(target.iterdir()), "the mount leaked out of the child's namespace"
    assert sorted(p.name for p in source.iterdir()) == ["app.db"]


def test_a_write_ahead_log_that_cannot_be_read_is_named(original: Path, shared: Path,
                                                       nobody: Child) -> None:
    """A copy taken while a writer had changes in its -wal, without the -shm, on a medium where
    the -shm cannot be created: SQLite cannot read it, and opening it `immutable` would
    silently drop those changes. The command says so in one sentence instead."""
    directory = shared / "copy-wal"
    directory.mkdir()
    db = directory / "app.db"
    shutil.copy2(original, db)
    import sqlite3

    writer = sqlite3.connect(db)
    try:
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("CREATE TABLE scratch (x INTEGER)")
        writer.commit()
        wal = db.with_name(db.name + "-wal")
        frozen = directory / "frozen"
        frozen.mkdir()
        shutil.copy2(db, frozen / "app.db")
        shutil.copy2(wal, frozen / "app.db-wal")
    finally:
        writer.close()
    for path in frozen.iterdir():
        path.chmod(0o444)
    frozen.chmod(0o555)
    run = nobody.run(_url(frozen / "app.db"), shared / "config.yaml", ("audit", "verify"),
                     frozen)
    assert run.code == 1, str(run)
    sentence = run.sentence()
    assert "write-ahead log" in sentence and "app.db-wal" in sentence, sentence


# --- in process: the explicit read-only URL ----------------------------------------------------


@pytest.mark.parametrize("form", ["file:{path}?mode=ro&uri=true", "{path}?mode=ro"])
def test_explicit_read_only_url_reads_and_refuses_writes(tmp_path: Path, form: str) -> None:
    db = tmp_path / "app.db"
    config = tmp_path / "config.yaml"
    config.write_text("simulated_clock: true\n")
    with library(db, now="2024-10-01T09:00:00", config=config) as app:
        app.init()
        make_ready(app, "leiden")
    writable = Flow(_url(db), config, LEGACY_WORKFLOWS, NOW)
    read_only = Flow("sqlite:///" + form.format(path=db), config, LEGACY_WORKFLOWS, NOW)
    for args in READS:
        want = writable.ok(*args)
        got = read_only.ok(*args)
        assert got.out == want.out, f"{' '.join(args)} differs:\n{got}"
    before = _digest(db)
    refused = read_only(*WRITE)
    assert refused.code == 1, str(refused)
    sentence = refused.sentence()
    assert READ_ONLY_SENTENCE in sentence and "mode=ro" in sentence, sentence
    assert f"the database at sqlite:///{form.format(path=db)} is read-only" in sentence
    assert read_only("init").code == 1
    dutch = Flow(read_only.url, config, LEGACY_WORKFLOWS, NOW, lang="nl")(*WRITE)
    assert dutch.code == 1 and dutch.err.startswith("fout: ") and dutch.err.count("\n") == 1
    assert "is alleen-lezen; de URL opent haar met mode=ro" in dutch.err, str(dutch)
    assert _digest(db) == before
    assert "utrecht" not in writable.ok("region", "list").out


def test_read_only_database_object(tmp_path: Path) -> None:
    """The library: a read-only URL gives read sessions and refuses write ones, and the
    connection itself refuses writes (``query_only``) should one get past."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from onderwijsflow.errors import DatabaseError
    from onderwijsflow.store.db import Database

    db = tmp_path / "a b#c.db"  # characters a SQLite URI must escape
    with library(db) as app:
        app.init()
        app.create_region("leiden", name="Leiden", sectors=["PO"])
    database = Database(f"sqlite:///{db}?mode=ro")
    try:
        assert database.read_only and database.sqlite_path == db
        assert database.display_url == f"sqlite:///{db}?mode=ro"
        with database.session(write=False) as session:
            assert session.execute(text("SELECT slug FROM regions")).scalar_one() == "leiden"
            with pytest.raises(OperationalError, match=r"readonly database"):
                session.execute(text("DELETE FROM regions"))
        with pytest.raises(DatabaseError, match=r"is read-only;"), database.session():
            pass
    finally:
        database.dispose()
    writable = Database(f"sqlite:///{db}")
    try:
        assert not writable.read_only
        with writable.session(write=False) as session:
            assert session.execute(text("SELECT count(*) FROM regions")).scalar_one() == 1
    finally:
        writable.dispose()

