"""The absl binaries; ``bin/`` holds launchers for them."""
