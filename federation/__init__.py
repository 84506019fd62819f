"""Federated intent model: departments train one router with Flower without moving citizens' data."""

from federation.data import DataFileError, LabelledTexts, parse_partition, partition_indices, read_labelled_csv
from federation.model import OUT_OF_SCOPE, DpSgdConfig, FeatureHasher, IntentModel, ModelFileError, Prediction
from federation.privacy import PrivacyLedger
from federation.synthetic import bootstrap_model, generate_requests
from federation.taxonomy import DEPARTMENTS, INTENTS, REQUEST_TYPES, Intent

__all__ = [
    "DEPARTMENTS",
    "INTENTS",
    "OUT_OF_SCOPE",
    "REQUEST_TYPES",
    "DataFileError",
    "DpSgdConfig",
    "FeatureHasher",
    "Intent",
    "IntentModel",
    "LabelledTexts",
    "ModelFileError",
    "Prediction",
    "PrivacyLedger",
    "bootstrap_model",
    "generate_requests",
    "parse_partition",
    "partition_indices",
    "read_labelled_csv",
]
