"""The privacy tests run a whole sigrelay on the example configuration, with
the fixtures of the end-to-end tests (config_dir, sink, env, cfg, service)."""

from e2e.conftest import cfg, config_dir, env, service  # noqa: F401  (fixtures)
