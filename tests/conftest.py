"""Shared pytest set-up.

- A non-interactive matplotlib backend, so tests draw figures headless.
- Hypothesis without deadlines (a shared 2-core machine makes timings noise, and speed belongs
  in benchmarks/) and derandomized, so that every run, CI's included, tries the same examples;
  set HYPOTHESIS_PROFILE=explore for fresh random examples when hunting for bugs.
"""
import os

import matplotlib
from hypothesis import settings

matplotlib.use("Agg")

settings.register_profile("repeatable", deadline=None, derandomize=True, print_blob=True)
settings.register_profile("explore", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
