"""BuzzChat v1 (SPEC §3): the API of a live-stream shopping chat bot."""
