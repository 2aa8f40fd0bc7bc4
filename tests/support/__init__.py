"""Helpers shared by the test suite: real servers for the tests where the network matters."""
