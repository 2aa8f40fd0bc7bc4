"""Benchmarks of SPEC §6: real processes on loopback, ceilings measured in the same run."""
