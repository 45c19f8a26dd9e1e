"""Reliability and security tests: hostile input, faults, disconnects, load, fuzzing (issue 9)."""
