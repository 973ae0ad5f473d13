"""Local stand-ins for Slack, Discord and every provider, for tests, the benchmark and the demo."""
