"""`verify`: check a dataset folder's shards against its meta.json (checksums and schema).

Shards of every readable schema version pass (`meshsim.data.store.READABLE_SCHEMAS`): a dataset
generated before edges were stored (schema 1) verifies as it did. Shards of schema 3 are also
read whole, every sample checked against its own checksums, so a damaged shard is named with
the first sample and array at fault."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..graph.mesh_edges import mesh_edge_index
from .errors import DatasetError
from .shard_reader import ShardReader
from .store import read_meta, sha256_file


def _shard_problems(reader: ShardReader, record: dict, meta: dict) -> list[str]:
    """Ways in which an opened shard disagrees with its meta.json record and the schema."""
    problems = []
    if len(reader) != record["num_samples"]:
        problems.append(f"holds {len(reader)} samples, meta.json says {record['num_samples']}")
    if (reader.split, reader.first_index) != (record["split"], record["first_index"]):
        problems.append(f"holds {reader.split} samples from {reader.first_index}, meta.json says "
                        f"{record['split']} from {record['first_index']}")
    if len(reader) == 0:
        return problems
    if sorted(reader.field_names) != sorted(meta["fields"]):
        problems.append(f"has fields {reader.field_names}, meta.json lists {sorted(meta['fields'])}")
        return problems
    sample = reader.sample(0)
    for name, spec in meta["fields"].items():
        value = sample.fields[name]
        if value.shape[-1] != spec["channels"] or (value.ndim == 3) != spec["time_dependent"]:
            problems.append(f"field {name!r} has shape {list(value.shape)}, meta.json says {spec['shape']}")
    if sample.points.shape[1] != meta["dim"] or sample.cells.shape[1] != meta["nodes_per_cell"]:
        problems.append(f"points/cells of shape {sample.points.shape}/{sample.cells.shape} do not match "
                        f"dim {meta['dim']}, {meta['nodes_per_cell']} nodes per cell")
    if sorted(sample.params) != sorted(meta["params"]):
        problems.append(f"has params {sorted(sample.params)}, meta.json lists {sorted(meta['params'])}")
    if reader.schema_version >= 2 and not np.array_equal(sample.edge_index,
                                                          mesh_edge_index(sample.cells, sample.num_nodes)):
        problems.append("stored edge_index of its first sample differs from the edges of its cells")
    return problems


def verify(folder: str | Path) -> list[str]:
    """Problems found in the dataset at ``folder``, one line each naming the file (empty if it
    is sound): meta.json incomplete, a shard missing, its sha256 differing from meta.json, it
    failing to open, disagreeing with the schema, or a sample not matching its checksums."""
    folder = Path(folder)
    try:
        meta = read_meta(folder)
    except DatasetError as error:
        return [str(error)]
    if not meta.get("complete"):
        return [f"{folder / 'meta.json'}: generation has not finished; run `meshsim generate` again to resume"]
    problems = []
    for record in meta["shards"]:
        path = folder / record["file"]
        if not path.exists():
            problems.append(f"{path}: missing")
            continue
        checksum = sha256_file(path)
        if checksum != record["sha256"]:
            problems.append(f"{path}: sha256 {checksum[:12]}... differs from meta.json's {record['sha256'][:12]}...")
            if meta.get("schema_version", 1) < 3:  # HDF5 1.8 files have no metadata checksums: a damaged
                continue                           # header can crash HDF5, so stop at the sha256
        try:
            with ShardReader(path) as reader:
                problems.extend(f"{path}: {p}" for p in _shard_problems(reader, record, meta))
                if reader.schema_version >= 3:  # older shards hold no checksums to check samples against
                    reader.check_all()
        except DatasetError as error:
            problems.append(str(error))
    return problems
