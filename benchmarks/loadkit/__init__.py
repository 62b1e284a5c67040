"""Shared helpers of the load, HTTP and fault benchmarks: servers, databases, load, proxy, checks.

Used by benchmarks/load.py, benchmarks/http.py, benchmarks/faults.py and, in small sizes, by
tests/api/test_reliability.py, so the suite and the benchmarks prove the same properties.
Everything binds to 127.0.0.1 and is bounded in requests and time.
"""
