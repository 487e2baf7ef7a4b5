"""The BERT compile Job: trace a Hugging Face sequence classifier at fixed shapes and publish it.

Runs on any x86 node: torch_neuronx.trace compiles for Inf2 without a Neuron device (TARGET=neuronx);
TARGET=cpu makes a plain TorchScript trace. Files go under MODEL_PREFIX (which names the model, the
shapes and the toolchain); manifest.json is written last, so its presence means the model is complete.
If the manifest already exists the Job has nothing to do and exits at once.
"""

import json
import os
import platform
import time

from botocore.exceptions import ClientError

from common import INPUTS, MANIFEST_FORMAT, Settings, fail, log, required, s3_client, sha256_of, traced_file

# Two sentences of the MRPC paraphrase task: only their shapes matter to the trace.
EXAMPLE = ("The company HuggingFace is based in New York City", "HuggingFace's headquarters are situated in Manhattan")


def manifest_exists(s3, settings: Settings) -> bool:
    try:
        s3.head_object(Bucket=settings.bucket, Key=settings.manifest_key)
        return True
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def main() -> None:
    settings = Settings()
    model_id = required("MODEL_ID")
    s3 = s3_client()
    if manifest_exists(s3, settings):
        log(f"{settings.location}{'manifest.json'} exists: the model is already built, nothing to do")
        return

    # Heavy imports only when there is work to do.
    import torch
    import transformers
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    started = time.monotonic()
    log(f"building {model_id} for {settings.target}: sequence length {settings.sequence_length}, "
        f"batch sizes {settings.batch_sizes}, into {settings.location}")
    tokenizer = AutoTokenizer.from_pretrained(model_id)
    model = AutoModelForSequenceClassification.from_pretrained(model_id, torchscript=True).eval()
    encoded = tokenizer(*EXAMPLE, max_length=settings.sequence_length, padding="max_length", truncation=True, return_tensors="pt")
    toolchain = {"torch": torch.__version__, "transformers": transformers.__version__, "python": platform.python_version()}
    if settings.target == "neuronx":
        import torch_neuronx  # noqa: F401  (Inf2 compiler front end)
        import neuronxcc

        toolchain["torch_neuronx"] = getattr(torch_neuronx, "__version__", "unknown")
        toolchain["neuronx_cc"] = getattr(neuronxcc, "__version__", "unknown")

    out_dir = os.path.join(os.environ.get("TMPDIR", "/tmp"), "traced")
    os.makedirs(out_dir, exist_ok=True)
    files = {}
    with torch.no_grad():
        for size in settings.batch_sizes:
            example = tuple(encoded[name].repeat(size, 1) for name in INPUTS)
            log(f"tracing batch size {size}")
            if settings.target == "neuronx":
                traced = torch_neuronx.trace(model, example)
            else:
                traced = torch.jit.trace(model, example)
                expected = model(*example)[0]
                if not torch.allclose(traced(*example)[0], expected, atol=1e-4):
                    fail(f"the CPU trace of {model_id} at batch size {size} disagrees with the model")
            path = os.path.join(out_dir, traced_file(size))
            torch.jit.save(traced, path)
            files[traced_file(size)] = {"sha256": sha256_of(path), "bytes": os.path.getsize(path)}
            log(f"uploading {traced_file(size)} ({files[traced_file(size)]['bytes']} bytes)")
            s3.upload_file(path, settings.bucket, f"{settings.prefix}{traced_file(size)}")

    manifest = {
        "format": MANIFEST_FORMAT,
        "modelId": model_id,
        "target": settings.target,
        "sequenceLength": settings.sequence_length,
        "batchSizes": settings.batch_sizes,
        "inputs": list(INPUTS),
        "labels": {str(k): v for k, v in getattr(model.config, "id2label", {}).items()},
        "toolchain": toolchain,
        "files": files,
        "builtAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    s3.put_object(Bucket=settings.bucket, Key=settings.manifest_key, Body=json.dumps(manifest, indent=2).encode(), ContentType="application/json")
    log(f"done in {int(time.monotonic() - started)} s: {settings.location}manifest.json")


if __name__ == "__main__":
    main()
