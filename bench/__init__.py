"""threadbridge's benchmark: N concurrent threads through a bridge process, then through a
minimal floor, against emulators on loopback (DESIGN §7). Run it with `python -m bench`."""
