"""Shared by compile.py and fetch_model.py: settings from the environment and the model manifest."""

import hashlib
import os
import sys
import time
from typing import NoReturn

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1


def log(message: str) -> None:
    """One line per event on stdout (kubectl logs), flushed at once."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f"{stamp} {message}", flush=True)


def fail(message: str, code: int = 1) -> NoReturn:
    log(f"ERROR: {message}")
    sys.exit(code)


def required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if value == "":
        fail(f"environment variable {name} is not set")
    return value


def s3_client():
    """An S3 client in the pod's region, or a clear stop when there is none.

    boto3 takes the region from AWS_DEFAULT_REGION (or a config file), never from AWS_REGION
    (boto/boto3#3620), and a pod cannot reach the node's IMDS (hop limit 1). Without a region boto3
    would quietly use us-east-1's global endpoint, outside the VPC's S3 gateway endpoint."""
    import boto3

    region = boto3.session.Session().region_name
    if not region:
        fail("no AWS region: set AWS_DEFAULT_REGION (boto3 does not read AWS_REGION"
             + (f", which is {os.environ['AWS_REGION']!r}" if os.environ.get("AWS_REGION") else "") + ")")
    return boto3.client("s3", region_name=region)


def batch_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        fail(f"BATCH_SIZES must be comma-separated integers, got {text!r}")
    if not sizes or any(s < 1 for s in sizes) or sizes != sorted(set(sizes)):
        fail(f"BATCH_SIZES must be increasing positive integers, got {text!r}")
    return sizes


def traced_file(batch_size: int) -> str:
    return f"model-b{batch_size}.pt"


class Settings:
    """What the pod was told to build or serve (the same variables for the Job and the init container)."""

    def __init__(self) -> None:
        self.bucket = required("MODEL_BUCKET")
        self.prefix = required("MODEL_PREFIX")
        if not self.prefix.endswith("/") or self.prefix.startswith("/"):
            fail(f"MODEL_PREFIX must end in '/' and not start with '/', got {self.prefix!r}")
        self.sequence_length = int(required("SEQUENCE_LENGTH"))
        self.batch_sizes = batch_sizes(required("BATCH_SIZES"))
        self.target = required("TARGET")
        if self.target not in ("neuronx", "cpu"):
            fail(f"TARGET must be neuronx or cpu, got {self.target!r}")

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def manifest_key(self) -> str:
        return f"{self.prefix}{MANIFEST}"


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_problems(manifest: object, settings: Settings) -> list[str]:
    """Why this manifest does not describe the model the pod expects (empty when it does)."""
    if not isinstance(manifest, dict):
        return ["the manifest is not a JSON object"]
    problems = []
    if manifest.get("format") != MANIFEST_FORMAT:
        problems.append(f"format is {manifest.get('format')!r}, expected {MANIFEST_FORMAT}")
    if manifest.get("target") != settings.target:
        problems.append(f"target is {manifest.get('target')!r}, the server needs {settings.target!r}")
    if manifest.get("sequenceLength") != settings.sequence_length:
        problems.append(f"sequenceLength is {manifest.get('sequenceLength')!r}, the server needs {settings.sequence_length}")
    if manifest.get("batchSizes") != settings.batch_sizes:
        problems.append(f"batchSizes is {manifest.get('batchSizes')!r}, the server needs {settings.batch_sizes}")
    files = manifest.get("files")
    if not isinstance(files, dict):
        problems.append("files is missing")
    else:
        for size in settings.batch_sizes:
            entry = files.get(traced_file(size))
            if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
                problems.append(f"files lacks {traced_file(size)} with its sha256")
    return problems
