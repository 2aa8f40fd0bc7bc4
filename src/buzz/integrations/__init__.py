"""Buzz: integrations, their event subscriptions, the events they receive and their callback."""
