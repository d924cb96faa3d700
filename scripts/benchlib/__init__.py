"""Helpers of scripts/bench (stdlib only): workloads, databases, tools, runner, report."""
