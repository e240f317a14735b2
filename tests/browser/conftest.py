"""Headless Chromium (Debian's `chromium` and `chromium-driver`, installed by `make deps-system`) driven by
Selenium through its own chromedriver: nothing is downloaded. Screenshots of the main pages go to a temporary
folder, or with YTCS_SCREENSHOTS=1 to docs/screenshots/ (so that a test run leaves the checkout as it was)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.support.infra import ROOT

CHROMEDRIVER = "/usr/bin/chromedriver"
_KEPT = ROOT / "docs" / "screenshots"
SCREENSHOTS = _KEPT if os.environ.get("YTCS_SCREENSHOTS") else Path(tempfile.gettempdir()) / "ytcs-screenshots"


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def chrome(downloads: Path) -> Iterator[webdriver.Chrome]:
    if not Path(CHROMEDRIVER).exists() or not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.fail("Debian's chromium and chromium-driver are needed: `make deps-system` installs them")
    options = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--lang=vi-VN",
        "--window-size=1366,900",
    ):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "intl.accept_languages": "vi-VN,vi",
        },
    )
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def screenshot(driver: webdriver.Chrome, name: str, width: int = 1366) -> Path:
    """A full-page screenshot (the window stretched to the page's height) into SCREENSHOTS."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # The window cannot grow past the headless screen: the page is laid out at the wanted size instead.
    metrics = {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": min(max(height, 600), 4000)})
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return path
