"""Fixture ClientApp: moves the weights toward a department-specific target and reports counts."""

import time
import zlib

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

app = ClientApp()


def _target(department_id: str) -> np.ndarray:
    """A deterministic per-department optimum the fixture 'learns'."""
    rng = np.random.default_rng(zlib.crc32(department_id.encode()))
    return rng.normal(size=8)


@app.train()
def train(msg: Message, context: Context) -> Message:
    """Take one step toward the department's target after an optional delay."""
    department_id = str(context.node_config["department-id"])
    delay_s = float(context.run_config.get("train-delay-s", 0.0))
    if delay_s:
        time.sleep(delay_s)
    weights = msg.content["arrays"].to_numpy_ndarrays()[0]
    updated = weights + 0.5 * (_target(department_id) - weights)
    content = RecordDict(
        {
            "arrays": ArrayRecord([updated]),
            "metrics": MetricRecord({"num-examples": 10, "train-loss": float(np.sum((updated - _target(department_id)) ** 2))}),
            "meta": ConfigRecord({"department-id": department_id}),
        }
    )
    return Message(content=content, reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    """Report the distance of the global weights to the department's target."""
    department_id = str(context.node_config["department-id"])
    weights = msg.content["arrays"].to_numpy_ndarrays()[0]
    loss = float(np.sum((weights - _target(department_id)) ** 2))
    content = RecordDict(
        {
            "metrics": MetricRecord({"num-examples": 10, "eval-loss": loss, "accuracy": 1.0 / (1.0 + loss)}),
            "meta": ConfigRecord({"department-id": department_id}),
        }
    )
    return Message(content=content, reply_to=msg)
