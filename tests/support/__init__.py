"""Helpers for tests: a TCP proxy that can cut a server off, and child-process scripts."""
