#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Run the libkube module's pytest suite (meson test --suite python).
Exit 77 (skip) when pytest is missing; pytest prints its summary line."""
import os
import sys

try:
    import pytest
except ImportError:
    print("SKIP: pytest is not installed for %s (apt-get install "
          "python3-pytest)" % sys.executable)
    sys.exit(77)

here = os.path.dirname(os.path.abspath(__file__))
sys.exit(pytest.main([here, "-q", "-rs", "-p", "no:cacheprovider"] +
                     sys.argv[1:]))
