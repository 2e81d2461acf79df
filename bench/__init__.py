"""Benchmarks (``make bench``) and the fault campaign (``make faults``); not product code."""
