"""Benchmarks (``make bench``) and the fault campaign (``make faults``); not product code."""

import warnings

# google-api-core announces the end of Python 3.11 support (2027); not ours, and noisy here.
warnings.filterwarnings("ignore", message="You are using a Python version", category=FutureWarning)
