"""Run a local Neo4j 5 Community server from jars resolved on Maven Central (no Docker, no tarball).

``Neo4jServer(home).start()`` resolves the server once with Maven (``org.neo4j:neo4j``, the Neo4j
Browser and APOC core), writes ``conf/neo4j.conf`` (loopback only, auth on), sets the initial
password before the first start, and runs ``org.neo4j.server.CommunityEntryPoint`` in the
background as its own process group, with a pid file and a log file under ``home``. Data and logs
persist under ``home`` between starts. Only the standard library is used here, so ``kgweave neo4j
start|stop|status`` works before the driver is even imported.

Examples
--------
>>> server = Neo4jServer(default_home())          # doctest: +SKIP
>>> server.start().bolt_url                        # doctest: +SKIP
'bolt://127.0.0.1:7687'
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from kgweave.deploy.processes import cmdline, http_ok, pid_alive, port_open, rss_bytes, terminate_group
from kgweave.graph_store.errors import GraphStoreError

__all__ = [
    "APOC_VERSION",
    "BROWSER_VERSION",
    "DEFAULT_HTTP_PORT",
    "DEFAULT_PASSWORD",
    "DEFAULT_VERSION",
    "FAST_SHUTDOWN_CONF",
    "Neo4jServer",
    "Neo4jServerError",
    "ServerStatus",
    "default_home",
    "default_http_port",
    "default_password",
    "render_conf",
    "render_pom",
]

log = logging.getLogger(__name__)

# 5.26 is the last Neo4j line that runs on Java 17 (2025.x needs Java 21). APOC core on Maven
# Central stops at 5.26.19 (plain jar, no "core" classifier; it needs apoc-common beside it), so the
# server is pinned to match it.
DEFAULT_VERSION = "5.26.19"
APOC_VERSION = "5.26.19"
BROWSER_VERSION = "5.24.0"
DEFAULT_PASSWORD = "kgweave-dev-password"  # local-only default: the server binds 127.0.0.1
DEFAULT_USER = "neo4j"
DEFAULT_HTTP_PORT = 7474  # HTTP and Neo4j Browser; KGWEAVE_NEO4J_HTTP_PORT overrides it
MAVEN_DEPENDENCY_PLUGIN = "3.8.1"

# Bolt waits 5 s for its thread pool and 5 s for its connections when stopping (10 s per stop).
# A local dev server has no clients worth waiting for; these internal 5.26 settings cut it to ~2 s.
FAST_SHUTDOWN_CONF = {
    "internal.server.bolt.thread_pool_shutdown_wait_time": "1s",
    "internal.server.bolt.connection_shutdown_wait_time": "1s",
}

_ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
_PASSWORD_LAUNCHER = Path(__file__).parent / "neo4j" / "SetInitialPassword.java"
_VERSION_MARKER = ".kgweave-jars"
_LOG_TAIL_LINES = 40

# The JVM flags Neo4j 5's own launcher adds (conf's server.jvm.additional); we start the entry
# point directly, so they are passed here. AlwaysPreTouch is left out to keep an idle dev server small.
_JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true",
    "-Dfile.encoding=UTF-8",
)


class Neo4jServerError(GraphStoreError):
    """The local Neo4j server could not be installed, started or stopped."""


def default_home() -> Path:
    """``$KGWEAVE_NEO4J_HOME``, else ``./.kgweave/neo4j`` (relative to the working directory)."""
    env = os.environ.get("KGWEAVE_NEO4J_HOME")
    return Path(env) if env else Path.cwd() / ".kgweave" / "neo4j"


def default_http_port() -> int:
    """``$KGWEAVE_NEO4J_HTTP_PORT``, else :data:`DEFAULT_HTTP_PORT`: the launcher's HTTP (Browser) port."""
    env = os.environ.get("KGWEAVE_NEO4J_HTTP_PORT")
    return int(env) if env else DEFAULT_HTTP_PORT


def default_password() -> str:
    """``$KGWEAVE_NEO4J_PASSWORD``, else :data:`DEFAULT_PASSWORD`."""
    return os.environ.get("KGWEAVE_NEO4J_PASSWORD") or DEFAULT_PASSWORD


@dataclass(frozen=True)
class ServerStatus:
    """Where a local server stands; ``to_dict()`` is what ``kgweave neo4j status --json`` prints."""

    running: bool
    pid: int | None
    home: str
    version: str
    bolt_port: int
    http_port: int
    bolt_url: str
    browser_url: str
    user: str
    rss_bytes: int | None = None
    log_file: str | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def render_pom(version: str = DEFAULT_VERSION, apoc_version: str | None = APOC_VERSION,
               browser_version: str | None = BROWSER_VERSION) -> str:
    """The pom.xml whose ``dependency:copy-dependencies`` yields the server's classpath."""
    deps = [("org.neo4j", "neo4j", version)]
    if browser_version:
        deps.append(("org.neo4j.client", "neo4j-browser", browser_version))
    if apoc_version:
        # apoc-core's pom omits apoc-common (apoc.result.*), without which the plugin fails to load.
        deps.append(("org.neo4j.procedure", "apoc-common", apoc_version))
        deps.append(("org.neo4j.procedure", "apoc-core", apoc_version))
    dep_xml = "\n".join(
        f"    <dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></dependency>"
        for g, a, v in deps
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by kgweave (deploy/neo4j_server.py): the jars of a Neo4j {version} Community server. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.kgweave.local</groupId>
  <artifactId>kgweave-neo4j-server</artifactId>
  <version>{version}</version>
  <packaging>pom</packaging>
  <dependencies>
{dep_xml}
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>{MAVEN_DEPENDENCY_PLUGIN}</version>
      </plugin>
    </plugins>
  </build>
</project>
"""


def render_conf(
    home: Path,
    plugins_dir: Path,
    bolt_port: int,
    http_port: int,
    pagecache: str = "256m",
    heap: str = "512m",
    tx_memory_max: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> str:
    """The neo4j.conf of a local dev server: loopback only, auth on, https off, APOC unrestricted."""
    settings: dict[str, str] = {
        "server.default_listen_address": "127.0.0.1",
        "server.default_advertised_address": "127.0.0.1",
        "server.bolt.enabled": "true",
        "server.bolt.listen_address": f"127.0.0.1:{bolt_port}",
        "server.bolt.advertised_address": f"127.0.0.1:{bolt_port}",
        "server.bolt.tls_level": "DISABLED",
        "server.http.enabled": "true",
        "server.http.listen_address": f"127.0.0.1:{http_port}",
        "server.http.advertised_address": f"127.0.0.1:{http_port}",
        "server.https.enabled": "false",
        "dbms.security.auth_enabled": "true",
        "dbms.security.procedures.unrestricted": "apoc.*",
        "dbms.usage_report.enabled": "false",
        "server.directories.data": str(home / "data"),
        "server.directories.logs": str(home / "logs"),
        "server.directories.import": str(home / "import"),
        "server.directories.run": str(home / "run"),
        "server.directories.plugins": str(plugins_dir),
        # Informational: the JVM is started directly with -Xms/-Xmx from the same value.
        "server.memory.heap.initial_size": heap,
        "server.memory.heap.max_size": heap,
        "server.memory.pagecache.size": pagecache,
    }
    if tx_memory_max:  # Neo4j's default is 70 % of the heap
        settings["dbms.memory.transaction.total.max"] = tx_memory_max
    settings.update(extra or {})
    lines = [
        "# Written by kgweave (deploy/neo4j_server.py) at every start; edits here are overwritten.",
        "# Pass extra settings with Neo4jServer(extra_conf={...}).",
    ]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


class Neo4jServer:
    """A Neo4j 5 Community server living under one home folder.

    Parameters
    ----------
    home
        Folder for conf/, data/, logs/, run/ (and lib/, plugins/ unless ``jars_home`` is given).
    version
        ``org.neo4j:neo4j`` version on Maven Central.
    bolt_port, http_port
        Loopback ports for Bolt and HTTP (Neo4j Browser at ``/browser/``).
    password
        Password of the ``neo4j`` user, set before the first start only (at least 8 characters).
    jars_home
        Folder whose lib/ and plugins/ hold the jars; share one between several homes to resolve once.
    heap, pagecache
        JVM heap (-Xms/-Xmx) and page cache; default ``$KGWEAVE_NEO4J_HEAP`` or 512m and
        ``$KGWEAVE_NEO4J_PAGECACHE`` or 256m (a small dev server: raise both for large graphs).
    tx_memory_max
        Cap on the memory of all transactions together; None keeps Neo4j's default (70 % of the heap).
    extra_conf
        More neo4j.conf settings; they override the defaults.
    """

    def __init__(
        self,
        home: Path | str | None = None,
        version: str = DEFAULT_VERSION,
        bolt_port: int = 7687,
        http_port: int | None = None,
        password: str | None = None,
        *,
        jars_home: Path | str | None = None,
        apoc_version: str | None = APOC_VERSION,
        browser_version: str | None = BROWSER_VERSION,
        heap: str | None = None,
        pagecache: str | None = None,
        tx_memory_max: str | None = None,
        extra_conf: Mapping[str, str] | None = None,
        java: str = "java",
        mvn: str = "mvn",
    ) -> None:
        self.home = Path(home if home is not None else default_home()).resolve()
        self.version = version
        self.bolt_port = bolt_port
        self.http_port = http_port if http_port is not None else default_http_port()
        self.password = password if password is not None else default_password()
        if len(self.password) < 8:
            raise ValueError("the Neo4j password must have at least 8 characters")
        self.jars_home = Path(jars_home).resolve() if jars_home is not None else self.home
        self.apoc_version = apoc_version
        self.browser_version = browser_version
        self.heap = heap or os.environ.get("KGWEAVE_NEO4J_HEAP") or "512m"
        self.pagecache = pagecache or os.environ.get("KGWEAVE_NEO4J_PAGECACHE") or "256m"
        self.tx_memory_max = tx_memory_max
        # Internal settings are version-specific and strict validation rejects unknown ones.
        fast = FAST_SHUTDOWN_CONF if version.startswith("5.26.") else {}
        self.extra_conf = {**fast, **(extra_conf or {})}
        self.java = java
        self.mvn = mvn
        self._proc: subprocess.Popen[bytes] | None = None

    # -- paths ---------------------------------------------------------------------------------
    @property
    def lib_dir(self) -> Path:
        return self.jars_home / "lib"

    @property
    def plugins_dir(self) -> Path:
        return self.jars_home / "plugins"

    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "console.log"

    @property
    def pid_file(self) -> Path:
        return self.home / "run" / "kgweave-neo4j.pid"

    @property
    def state_file(self) -> Path:
        return self.home / "run" / "kgweave-neo4j.json"

    @property
    def bolt_url(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/"

    # -- install -------------------------------------------------------------------------------
    def is_installed(self) -> bool:
        """True when lib/ holds the jars of this version (and APOC is in plugins/ if wanted)."""
        marker = self.lib_dir / _VERSION_MARKER
        if not marker.is_file() or marker.read_text().strip() != self._jar_key():
            return False
        if not any(self.lib_dir.glob(f"neo4j-{self.version}.jar")):
            return False
        return not self.apoc_version or all(
            (self.plugins_dir / f"apoc-{part}-{self.apoc_version}.jar").is_file() for part in ("core", "common")
        )

    def install(self) -> bool:
        """Resolve the server's jars with Maven into lib/ (APOC into plugins/); False if already there."""
        if self.is_installed():
            return False
        mvn = shutil.which(self.mvn)
        if mvn is None:
            raise Neo4jServerError(f"Maven ({self.mvn!r}) is not on PATH; it resolves Neo4j's jars")
        build = self.jars_home / "build"
        build.mkdir(parents=True, exist_ok=True)
        # Two processes (test workers, a CLI beside a test run) must not resolve into one folder at once.
        with open(build / "install.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if self.is_installed():  # the other process finished it
                    return False
                self._resolve(mvn, build)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return True

    def _resolve(self, mvn: str, build: Path) -> None:
        started = time.monotonic()
        (build / "pom.xml").write_text(
            render_pom(self.version, self.apoc_version, self.browser_version), encoding="utf-8"
        )
        staging = self.jars_home / "lib.partial"
        shutil.rmtree(staging, ignore_errors=True)
        cmd = [
            mvn, "-B", "-q", "-f", str(build / "pom.xml"), "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}", "-DincludeScope=runtime",
        ]
        log.info("resolving Neo4j %s jars with Maven into %s", self.version, self.lib_dir)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-_LOG_TAIL_LINES:])
            raise Neo4jServerError(f"Maven could not resolve Neo4j {self.version}:\n{tail}")
        # APOC is a plugin: its jar goes to plugins/, its dependencies stay on the server classpath.
        self.plugins_dir.mkdir(parents=True, exist_ok=True)
        for old in self.plugins_dir.glob("apoc-*.jar"):
            old.unlink()
        for jar in [*staging.glob("apoc-core-*.jar"), *staging.glob("apoc-common-*.jar")]:
            shutil.move(str(jar), self.plugins_dir / jar.name)
        shutil.rmtree(self.lib_dir, ignore_errors=True)
        staging.rename(self.lib_dir)
        (self.lib_dir / _VERSION_MARKER).write_text(self._jar_key() + "\n")
        log.info("resolved %d jars in %.1f s", len(list(self.lib_dir.glob("*.jar"))),
                 time.monotonic() - started)

    def _jar_key(self) -> str:
        return f"neo4j={self.version} apoc={self.apoc_version} browser={self.browser_version}"

    # -- start / stop --------------------------------------------------------------------------
    def start(self, wait_s: float = 120.0) -> ServerStatus:
        """Install if needed, write the conf, start in the background, wait for Bolt and HTTP."""
        current = self.status()
        if current.running:
            log.info("Neo4j already running (pid %s)", current.pid)
            return current
        java = shutil.which(self.java)
        if java is None:
            raise Neo4jServerError(f"Java ({self.java!r}) is not on PATH; Neo4j {self.version} needs Java 17")
        self.install()
        for port in (self.bolt_port, self.http_port):
            if port_open(port):
                raise Neo4jServerError(f"port {port} on 127.0.0.1 is already in use by another process")
        for sub in ("conf", "data", "logs", "run", "import"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        (self.conf_dir / "neo4j.conf").write_text(
            render_conf(self.home, self.plugins_dir, self.bolt_port, self.http_port,
                        self.pagecache, self.heap, self.tx_memory_max, self.extra_conf),
            encoding="utf-8",
        )
        if not (self.home / "data" / "databases" / "system").exists():
            self._set_initial_password(java)

        cmd = [
            java, f"-Xms{self.heap}", f"-Xmx{self.heap}", *_JVM_FLAGS,
            "-cp", f"{self.plugins_dir}/*{os.pathsep}{self.lib_dir}/*",
            _ENTRY_POINT, f"--home-dir={self.home}", f"--config-dir={self.conf_dir}", "--console-mode",
        ]
        started = time.monotonic()
        with open(self.log_file, "ab") as out:
            out.write(f"\n=== kgweave: starting Neo4j {self.version} at {time.ctime()} ===\n".encode())
            out.flush()
            self._proc = subprocess.Popen(
                cmd, cwd=self.home, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, env=self._java_env(),
            )
        pid = self._proc.pid
        self.pid_file.write_text(f"{pid}\n")
        self.state_file.write_text(json.dumps({
            "pid": pid, "version": self.version, "bolt_port": self.bolt_port,
            "http_port": self.http_port, "home": str(self.home),
        }))
        try:
            self._wait_ready(wait_s)
        except BaseException:
            self._terminate(pid, timeout_s=10.0)
            self._clear_run_files()
            raise
        log.info("Neo4j %s up in %.1f s: %s, browser %sbrowser/", self.version,
                 time.monotonic() - started, self.bolt_url, self.http_url)
        return self.status()

    def stop(self, timeout_s: float = 60.0) -> bool:
        """SIGTERM the server, SIGKILL it after ``timeout_s``; False if it was not running."""
        pid = self._running_pid()
        if pid is None:
            self._clear_run_files()
            return False
        self._terminate(pid, timeout_s)
        self._clear_run_files()
        return True

    def status(self) -> ServerStatus:
        """Running or not, with pid, ports and URLs (ports as recorded by the last start)."""
        pid = self._running_pid()
        bolt_port, http_port, version = self.bolt_port, self.http_port, self.version
        if pid is not None and self.state_file.is_file():
            try:
                state = json.loads(self.state_file.read_text())
                bolt_port, http_port = int(state["bolt_port"]), int(state["http_port"])
                version = str(state["version"])
            except (ValueError, KeyError, OSError):
                pass
        from kgweave.deploy.neo4j_browser import browser_url  # it imports this module

        bolt_url = f"bolt://127.0.0.1:{bolt_port}"
        return ServerStatus(
            running=pid is not None, pid=pid, home=str(self.home), version=version,
            bolt_port=bolt_port, http_port=http_port, bolt_url=bolt_url,
            browser_url=str(browser_url(bolt_url, http_port)), user=DEFAULT_USER,
            rss_bytes=rss_bytes(pid) if pid is not None else None, log_file=str(self.log_file),
        )

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last lines of the console log (empty if there is none)."""
        try:
            with open(self.log_file, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 64 * 1024))
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- internals -----------------------------------------------------------------------------
    def _java_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["NEO4J_HOME"] = str(self.home)
        env["NEO4J_CONF"] = str(self.conf_dir)
        return env

    def _set_initial_password(self, java: str) -> None:
        """``neo4j-admin dbms set-initial-password`` with the password on standard input, never on a command line.

        The admin tool takes it only as an argument, so a one-file Java launcher
        (``deploy/neo4j/SetInitialPassword.java``) reads it from stdin and passes it inside the JVM.
        Afterwards the data folder is the owner's only (0700) and ``auth.ini`` readable by the owner (0600).
        """
        cmd = [java, "-cp", f"{self.lib_dir}/*", str(_PASSWORD_LAUNCHER)]
        proc = subprocess.run(cmd, cwd=self.home, env=self._java_env(), capture_output=True, text=True,
                              check=False, input=self.password + "\n")
        _owner_only(self.home / "data")
        if proc.returncode != 0:
            # The password is a secret: show the tool's output, never the command line.
            raise Neo4jServerError(
                f"neo4j-admin dbms set-initial-password failed:\n{(proc.stdout + proc.stderr).strip()}"
            )

    def _wait_ready(self, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        assert self._proc is not None
        while True:
            code = self._proc.poll()
            if code is not None:
                raise Neo4jServerError(
                    f"Neo4j exited with code {code} while starting; {self.log_file} ends with:\n"
                    f"{self.log_tail()}"
                )
            if port_open(self.bolt_port) and http_ok(self.http_url):
                return
            if time.monotonic() > deadline:
                raise Neo4jServerError(
                    f"Neo4j did not answer on {self.bolt_url} and {self.http_url} within {wait_s:.0f} s; "
                    f"{self.log_file} ends with:\n{self.log_tail()}"
                )
            time.sleep(0.25)

    def _running_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if not self._alive(pid):
            return None
        command = cmdline(pid)
        # A recycled pid belongs to some other program: only our entry point for this home counts.
        if command is not None and (_ENTRY_POINT not in command or str(self.home) not in command):
            return None
        return pid

    def _alive(self, pid: int) -> bool:
        if self._proc is not None and self._proc.pid == pid:
            return self._proc.poll() is None
        return pid_alive(pid)

    def _terminate(self, pid: int, timeout_s: float) -> None:
        if not terminate_group(pid, timeout_s, alive=self._alive):
            log.warning("Neo4j (pid %d) ignored SIGTERM for %.0f s; killed it", pid, timeout_s)
        if self._proc is not None and self._proc.pid == pid:
            self._proc.wait()
            self._proc = None

    def _clear_run_files(self) -> None:
        for path in (self.pid_file, self.state_file):
            path.unlink(missing_ok=True)


def _owner_only(folder: Path) -> None:
    """Folders under ``folder`` 0700 and files 0600: the auth store and the databases are the owner's only."""
    if not folder.exists():
        return
    folder.chmod(0o700)
    for path in folder.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)
