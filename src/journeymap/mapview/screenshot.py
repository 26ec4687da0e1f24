"""Photograph an HTML file with a real headless Chromium (Debian's ``chromium`` package).

Install it with ``apt-get install -y chromium`` (Debian/Ubuntu). Each run uses a fresh
temporary profile and turns off every background network feature, so nothing is fetched.
With ``height=None`` the page is measured first (a throwaway copy with one line of script,
read back with ``--dump-dom``) and the screenshot is exactly as tall as the page.

>>> png_size(b"\\x89PNG\\r\\n\\x1a\\n" + b"\\x00\\x00\\x00\\rIHDR" + (1600).to_bytes(4, "big") + (900).to_bytes(4, "big"))
(1600, 900)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import JourneymapError

__all__ = ["BrowserError", "chromium_command", "dump_dom", "find_chromium", "measure_height", "png_size", "screenshot"]

#: Where Debian's chromium package puts the browser; JOURNEYMAP_CHROMIUM overrides it.
DEFAULT_CHROMIUM = "/usr/bin/chromium"
INSTALL_HINT = "install it with `apt-get install -y chromium` (Debian/Ubuntu), or set JOURNEYMAP_CHROMIUM to its path"
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--hide-scrollbars", "--mute-audio", "--disable-extensions", "--disable-default-apps")


class BrowserError(JourneymapError):
    """Headless Chromium is missing or failed."""


def find_chromium(browser: str | None = None) -> str:
    """The Chromium executable: ``browser``, else $JOURNEYMAP_CHROMIUM, else /usr/bin/chromium,
    else chromium / chromium-browser / google-chrome on the PATH. Raises :class:`BrowserError`."""
    candidates = [browser, os.environ.get("JOURNEYMAP_CHROMIUM"), DEFAULT_CHROMIUM]
    candidates += [shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    where = browser or os.environ.get("JOURNEYMAP_CHROMIUM") or DEFAULT_CHROMIUM
    raise BrowserError(f"headless Chromium was not found (looked for {where} and chromium on the PATH)",
                       hint=INSTALL_HINT)


def chromium_command(browser: str, profile: str, *args: str, scale: float = 1.0) -> list[str]:
    """The full command line: the browser, the offline flags, a fresh profile, then ``args``."""
    return [browser, *_FLAGS, f"--force-device-scale-factor={scale:g}", f"--user-data-dir={profile}", *args]


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise BrowserError(f"headless Chromium did not finish within {timeout:.0f} s",
                           hint="retry, or raise timeout=") from None
    except OSError as exc:
        raise BrowserError(f"headless Chromium could not start: {exc}", hint=INSTALL_HINT) from None
    return done


def dump_dom(html_path: str | Path, *, width: int = 1600, height: int = 1000, browser: str | None = None,
             timeout: float = 60) -> str:
    """The DOM of ``html_path`` after loading it in headless Chromium (``--dump-dom``)."""
    exe = find_chromium(browser)
    with tempfile.TemporaryDirectory(prefix="jm-chromium-") as profile:
        done = _run(chromium_command(exe, profile, f"--window-size={width},{height}", "--dump-dom",
                                     Path(html_path).resolve().as_uri()), timeout)
    if done.returncode != 0:
        raise BrowserError(f"headless Chromium failed ({done.returncode}): "
                           f"{done.stderr.decode(errors='replace')[-500:]}")
    return done.stdout.decode("utf-8", errors="replace")


def measure_height(html_path: str | Path, *, width: int = 1600, browser: str | None = None,
                   timeout: float = 60) -> int:
    """The rendered height in CSS pixels of ``html_path`` at ``width``."""
    source = Path(html_path).read_text(encoding="utf-8")
    probe = ("<script>document.addEventListener('DOMContentLoaded',function(){var m=document.createElement('meta');"
             "m.name='jm-height';m.content=String(Math.ceil(document.documentElement.scrollHeight));"
             "document.head.appendChild(m);});</script>")
    with tempfile.TemporaryDirectory(prefix="jm-measure-") as tmp:
        copy = Path(tmp) / "measure.html"
        copy.write_text(source.replace("</head>", probe + "</head>", 1) if "</head>" in source else probe + source,
                        encoding="utf-8")
        dom = dump_dom(copy, width=width, height=800, browser=browser, timeout=timeout)
    found = re.search(r'name="jm-height" content="(\d+)"', dom)
    if not found:
        raise BrowserError("could not measure the page height in headless Chromium")
    return int(found.group(1))


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header; raises ValueError if ``data`` is not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def screenshot(html_path: str | Path, png_path: str | Path, *, width: int = 1600, height: int | None = None,
               scale: float = 1.0, browser: str | None = None, timeout: float = 90) -> Path:
    """Render ``html_path`` in headless Chromium at a ``width`` x ``height`` CSS-pixel window
    (``height=None``: the page's full height) and save it as a PNG. ``scale`` is the device
    scale factor: the PNG has ``width * scale`` pixels across (0.75 makes a smaller file, 2 a
    sharper print). Returns ``png_path``. Raises :class:`BrowserError` when Chromium is missing
    or fails."""
    if not 0.25 <= scale <= 4:
        raise BrowserError(f"scale must be between 0.25 and 4 (got {scale})", hint="e.g. scale=1")
    html_path, png_path = Path(html_path).resolve(), Path(png_path).resolve()
    if not html_path.is_file():
        raise BrowserError(f"{html_path} does not exist", hint="write the map first, e.g. journey_map.save(path)")
    exe = find_chromium(browser)
    if height is None:
        height = min(measure_height(html_path, width=width, browser=exe, timeout=timeout) + 2, 16000)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    if png_path.exists():
        png_path.unlink()
    with tempfile.TemporaryDirectory(prefix="jm-chromium-") as profile:
        done = _run(chromium_command(exe, profile, f"--screenshot={png_path}", f"--window-size={width},{height}",
                                     html_path.as_uri(), scale=scale), timeout)
    if done.returncode != 0 or not png_path.is_file():
        raise BrowserError(f"headless Chromium did not write {png_path} (exit {done.returncode}): "
                           f"{done.stderr.decode(errors='replace')[-500:]}")
    return png_path
