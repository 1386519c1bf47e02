"""Files of runs: reads and writes on any ``tf.io.gfile`` filesystem, atomic
replacement, run-directory names and the lock that keeps one run per
directory."""
