"""The `sigrelay` command and the process that wires relay, delivery and tracker together."""
