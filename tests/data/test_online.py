"""Online streaming: the reservoir's bound and policy, back-pressure, simulators that stream the stored
samples bit for bit, a killed simulator replaced, a Dask cluster as the source, and the feed."""
import os
import signal
import threading
import time

import numpy as np
import pytest

from meshsim.data import DatasetError, Recipe, ShardReader, generate
from meshsim.data.online import OnlineFeed
from meshsim.data.reservoir import Reservoir
from meshsim.data.streaming import DaskSimulators, SimulatorPool, make_sample


def tiny_recipe(train=4, valid=2) -> Recipe:
    return Recipe.from_dict({"name": "tiny_heat_parametric", "problem": "heat_parametric", "samples_per_shard": 2,
                             "splits": {"train": train, "valid": valid},
                             "params": {"nx": 6, "ny": 4, "num_steps": 4, "save_every": 2}})


def test_reservoir_never_exceeds_its_bound_and_evicts_only_drawn_samples():
    reservoir = Reservoir(capacity=8, watermark=4, seed=1)
    drawn, largest, done = set(), [0], threading.Event()

    def produce(first):
        for item in range(first, first + 60):
            assert reservoir.put(item, timeout=10)
            largest[0] = max(largest[0], len(reservoir))

    def consume():
        rng = np.random.default_rng(0)
        while not done.is_set():
            drawn.update(reservoir.sample(3, rng, timeout=10))
            largest[0] = max(largest[0], len(reservoir))

    producers = [threading.Thread(target=produce, args=(first,)) for first in (0, 1000)]
    consumer = threading.Thread(target=consume)
    for thread in [*producers, consumer]:
        thread.start()
    for thread in producers:
        thread.join()
    done.set()
    consumer.join()
    stats = reservoir.stats()
    held = set(reservoir.items())
    assert largest[0] <= 8 and stats.size == 8 and stats.produced == 120 and stats.evicted == 112
    evicted = (set(range(60)) | set(range(1000, 1060))) - held
    assert len(evicted) == 112 and evicted <= drawn  # nothing was evicted before it was drawn
    assert stats.unique_drawn == len(drawn)


def test_put_waits_while_every_held_sample_is_undrawn():
    reservoir = Reservoir(capacity=3, watermark=3)
    assert all(reservoir.put(item) for item in "abc")
    start = time.perf_counter()
    assert not reservoir.put("d", timeout=0.1)  # full of undrawn samples: back-pressure
    assert time.perf_counter() - start >= 0.09 and reservoir.stats().put_wait_s >= 0.09
    (first,) = reservoir.sample(1, np.random.default_rng(0))
    assert reservoir.put("d", timeout=1.0)  # replaces the one drawn sample
    assert sorted(reservoir.items()) == sorted(set("abcd") - {first})
    assert reservoir.stats().drawn == 1 and reservoir.stats().evicted == 1


def test_trainer_waits_for_the_watermark_and_draws_distinct_samples():
    reservoir = Reservoir(capacity=10, watermark=2)
    reservoir.put(0)
    with pytest.raises(DatasetError, match="2 are needed"):
        reservoir.sample(1, np.random.default_rng(0), timeout=0.05)
    assert reservoir.stats().wait_s >= 0.04
    for item in range(1, 6):
        reservoir.put(item)
    batch = reservoir.sample(6, np.random.default_rng(0))
    assert sorted(batch) == list(range(6))  # as many as held: each once
    threading.Timer(0.05, reservoir.close).start()
    reservoir.put(99)
    with pytest.raises(DatasetError):
        Reservoir(capacity=2, watermark=3)


def _same_sample(a, b):
    for name in ("points", "cells", "node_type", "times"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.fields["u"], b.fields["u"])
    assert {k: float(v) for k, v in a.params.items()} == {k: float(v) for k, v in b.params.items()}


def test_streamed_samples_are_the_stored_samples_bit_for_bit(tmp_path):
    recipe = tiny_recipe(train=4)
    generate(recipe, tmp_path, progress=False)
    stored = {}
    for shard in ("shard-00000.h5", "shard-00001.h5"):
        with ShardReader(tmp_path / shard) as reader:
            stored.update({int(reader.indices[i]): reader.sample(i) for i in range(len(reader))})
    streamed = {}
    with SimulatorPool(recipe, workers=2) as pool:
        # worker k streams indices k, k + 2, ...: one may run ahead of the other on a busy machine
        deadline = time.monotonic() + 120
        while not set(range(4)) <= set(streamed) and time.monotonic() < deadline:
            streamed.update(pool.receive(timeout=30))
    assert set(range(4)) <= set(streamed) and pool.stats.lost == 0 and pool.stats.produced >= 4
    for index in range(4):
        _same_sample(streamed[index], stored[index])


def test_a_killed_simulator_is_replaced_and_the_stream_goes_on():
    recipe = tiny_recipe()
    received = {}
    with SimulatorPool(recipe, workers=2) as pool:
        while len(received) < 4:
            received.update(pool.receive(timeout=30))
        victim = pool.pids[0]
        os.kill(victim, signal.SIGKILL)
        while pool.stats.restarts < 1:
            received.update(pool.receive(timeout=30))
        restarted_at = max(i for i in received if i % 2 == 0)
        while max(i for i in received if i % 2 == 0) <= restarted_at + 2:  # the new worker's samples
            received.update(pool.receive(timeout=30))
        assert victim not in pool.pids and len(pool.pids) == 2
    assert pool.stats.restarts == 1 and pool.stats.lost == 1
    # slot 0 makes the even indices: exactly one, the one in flight when it was killed, is missing
    evens = sorted(i for i in received if i % 2 == 0)
    assert len(set(range(0, evens[-1] + 1, 2)) - set(evens)) == 1
    later_even = [i for i in evens if i > restarted_at]
    _same_sample(received[later_even[0]], make_sample(recipe, "train", later_even[0]))


def test_dask_cluster_streams_the_same_samples(tmp_path):
    distributed = pytest.importorskip("distributed")
    recipe = tiny_recipe()
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        received = {}
        with DaskSimulators(recipe, cluster.scheduler_address, in_flight=3) as source:
            while not set(range(5)) <= set(received):  # tasks finish in any order
                received.update(source.receive(timeout=30))
    assert source.stats.produced >= 5 and source.stats.lost == 0
    _same_sample(received[3], make_sample(recipe, "train", 3))


def test_feed_fills_the_reservoir_and_reports_progress():
    recipe = tiny_recipe()
    reservoir = Reservoir(capacity=5, watermark=2)
    with OnlineFeed(SimulatorPool(recipe, workers=1), reservoir, lambda index, sample: index) as feed:
        batches = feed.batches(batch_size=2, seed=0, collate=sorted)
        seen = [next(batches) for _ in range(40)]
        stats = feed.stats()
    assert all(len(batch) == 2 and batch[0] < batch[1] for batch in seen)
    assert stats["drawn"] == 80 and stats["produced"] >= 2 and stats["buffer"] <= 5
    assert stats["written_bytes"] == 0 and stats["restarts"] == 0
    assert stats["unique_drawn"] <= stats["produced"]


def _crash(params, rng):
    os._exit(3)


def test_a_simulator_that_keeps_dying_is_an_error(monkeypatch):
    from meshsim.data import PROBLEMS, Problem
    from meshsim.data.problems.heat_parametric import HeatParametricParams

    monkeypatch.setitem(PROBLEMS, "crash", Problem(HeatParametricParams, _crash, inputs=(), targets=("u",)))
    recipe = Recipe.from_dict({"name": "crash", "problem": "crash", "splits": {"train": 2}})
    with SimulatorPool(recipe, workers=1, start_method="fork") as pool:  # fork: the patched table is inherited
        with pytest.raises(DatasetError, match="died 3 times in a row .*exit code 3"):
            for _ in range(100):
                pool.receive(timeout=10)
    assert pool.stats.restarts == 2 and pool.stats.produced == 0
