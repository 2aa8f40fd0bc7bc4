"""Delivery engine: outbox, dispatcher, signing, target guard, retry schedule and transport."""
