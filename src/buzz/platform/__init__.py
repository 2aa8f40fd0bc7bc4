"""Buzz: the chat platform (users, OAuth, channels, messages) that events come from."""
