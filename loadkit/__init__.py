"""The server harness shared by the tests and the benchmarks: servers, databases, load, proxy, checks.

Used by benchmarks/load.py, benchmarks/http_bench.py, benchmarks/faults.py and, in small sizes,
by the server tests (tests/api/test_reliability.py, test_server.py, test_sighup.py, ...), so
the suite and the benchmarks prove the same properties; it lives beside both, so that the
tests do not depend on benchmarks/. Not part of the installed package.
Everything binds to 127.0.0.1 and is bounded in requests and time.
"""
