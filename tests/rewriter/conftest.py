"""The rewriter tests share plain helpers (rewriter_plans.py); with
--import-mode=importlib a test folder is not on sys.path by itself."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
