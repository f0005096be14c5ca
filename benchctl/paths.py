"""Where the project's data lives: bench configs and scenarios sit beside the packages in the checkout."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_CONFIGS = ROOT / "bench_configs"
DEFAULT_BENCH = BENCH_CONFIGS / "sim.yaml"
SCENARIOS = ROOT / "scenarios"
