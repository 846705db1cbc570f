"""A real LNbits 1.6.2 server for the tests, whose FakeWallet is given a node (see launcher.py)."""
