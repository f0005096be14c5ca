"""A named behaviour variant of the simulated charger (hil_sim/variants.py) applied to a bench config: its
`simulator.station` settings, the bench values and dut settings a lab would write for such a station, and a PICS
derived from the bench's own with the variant's answers (so the plan follows what the station does)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from benchctl.bench.config import BenchConfig
from hil_sim.variants import VARIANTS, Variant, apply_station, unknown_variant

_DERIVED = Path(tempfile.gettempdir()) / "benchctl-variant-pics"


class VariantError(ValueError):
    """A variant name the catalogue does not have, or one the bench config cannot take."""


def variant_pics(variant: Variant, base: Path, folder: Path | None = None) -> Path:
    """`base` (a PICS file) with the variant's answers; `base` itself when it has none. Every answer must be
    one the base file already gives, so a variant cannot drift from the station it is derived from."""
    if not variant.answers:
        return base
    data = yaml.safe_load(base.read_text(encoding="utf-8"))
    unknown = sorted(set(variant.answers) - set(data))
    if unknown:
        raise VariantError(f"variant {variant.name}: {base} has no answer {', '.join(unknown)}")
    folder = folder or _DERIVED
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{base.stem}-{variant.name}.yaml"
    path.write_text(f"# {base.name} as the {variant.name} variant of the simulator answers it\n"
                    + yaml.safe_dump({**data, **variant.answers}, sort_keys=False), encoding="utf-8")
    return path


def apply_variant(config: BenchConfig, name: str, folder: Path | None = None) -> Variant:
    """Turn the simulated bench `config` into the variant `name` (in place)."""
    problem = unknown_variant(name)
    if problem:
        raise VariantError(problem)
    if config.simulator is None:
        raise VariantError(f"simulator variant {name} needs a bench with a simulator; {config.file} has none")
    variant = VARIANTS[name]
    apply_station(variant, config.simulator.station)
    unknown = sorted(set(variant.values) - set(config.values))
    if unknown:
        raise VariantError(f"variant {name}: the bench has no value {', '.join(unknown)}")
    config.values.update(variant.values)
    for key, value in variant.dut.items():
        if not hasattr(config, key):
            raise VariantError(f"variant {name}: no dut setting {key!r}")
        setattr(config, key, value)
    if config.pics is not None:
        config.pics = str(variant_pics(variant, Path(config.pics), folder))
    return variant
