"""A real OpenAI-compatible upstream for tests and benches: see `tests/utils/mock_upstream.py`."""
