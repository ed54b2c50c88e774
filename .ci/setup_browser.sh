#!/usr/bin/env bash
# Install headless Chromium from the Debian packages for the browser tests
# (tests/test_browser.py drives it through Python Playwright with executable_path;
# Playwright's own browser download is never used). Quick when already installed.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    echo "setup_browser: $(chromium --version 2>/dev/null || echo chromium) already installed"
else
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends chromium
fi
python3 -c "import playwright.sync_api" 2>/dev/null || python3 -m pip install playwright
chromium --version
