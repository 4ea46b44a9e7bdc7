"""The service: the loop, signals, the one composition root, start-up checks, rules hot-reload."""
